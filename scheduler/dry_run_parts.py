"""A dry run over a big leads file on two cores (`LeadsImport.run`): a forked helper checks the
leads after the cut, each alone (`check_part`), while the command checks those before it; the
command then takes the helper's verdicts in line order (`take_checked`) for what needs every
row in order: duplicates, the choice of account, the counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from scheduler.leads import Lead, LeadError, Part
from worker.accounts import ProviderName
from worker.recipients import RecipientKind

if TYPE_CHECKING:
    from scheduler.campaign_import import ImportRun, LeadsImport

# A lead after every check that needs no other row, as a helper process sends it back (a plain
# tuple: a million cross the pipe): line, recipient, its kind, why not to contact them (or None),
# the providers that can send all of its steps, why none can (or None) and then the row's cells
# (for the rejects file), step 1's text (a sample), each step's variant (when there are any).
Checked = tuple[
    int,
    str,
    RecipientKind,
    str | None,
    tuple[ProviderName, ...],
    str | None,
    list[str],
    str,
    tuple[str | None, ...] | None,
]


def check_part(
    imports: LeadsImport,
    part: Part,
    send: Callable[[list[Checked | LeadError]], None],
    batch_size: int,
) -> None:
    """In the helper process: every lead of `part` checked alone, sent a batch at a time."""
    imports.runtime.engine.dispose(close=False)  # (the parent's connections stay its own)
    out: list[Checked | LeadError] = []
    batch: list[Lead] = []
    for item in imports.leads(part):
        if isinstance(item, LeadError):
            if item.line != 1:  # (the header's problems are the command's to report)
                out.append(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            out.extend(check_alone(imports, batch))
            send(out)
            out, batch = [], []
    out.extend(check_alone(imports, batch))
    send(out)


def check_alone(imports: LeadsImport, leads: list[Lead]) -> list[Checked]:
    """Each lead with what it needs no other row for."""
    skips = imports.skips([lead.recipient.value for lead in leads])
    nothing: tuple[ProviderName, ...] = ()
    out: list[Checked] = []
    for lead in leads:
        recipient = lead.recipient
        why = skips.get(recipient.value)
        if why is not None:
            skipped: Checked = (
                lead.line, recipient.value, recipient.kind, why, nothing, None, [], "", None
            )  # fmt: skip
            out.append(skipped)
            continue
        steps = imports.steps
        texts, subjects, variants = steps.steps_of(lead)
        problems = steps.judge(recipient, texts, subjects)
        accepting = tuple(p for p in steps.providers_used if not problems(p))
        refusal, cells = (None, []) if accepting else (steps.refusal(problems), lead.cells)
        out.append((
            lead.line, recipient.value, recipient.kind, None, accepting, refusal, cells,
            texts[0], variants,
        ))  # fmt: skip
    return out


def take_checked(imports: LeadsImport, items: list[Checked | LeadError], run: ImportRun) -> None:
    """What `LeadsImport._first_mentions` and `_batch` do with its own leads, for a batch the
    helper checked."""
    checked: list[Checked] = []
    for item in items:
        if isinstance(item, LeadError):
            imports.refuse(item, run)
        else:
            checked.append(item)
    earlier = run.seen.earlier([(c[1], c[0]) for c in checked])
    plan = run.plan
    for line, recipient, kind, skip, accepting, refusal, cells, text, variants in checked:
        first = earlier.get(line)
        if first is not None:
            imports.refuse_repeat(line, kind, first, run)
            continue
        plan.recipients += 1
        if skip is not None:
            imports.count_skipped(recipient, skip, plan)
            continue
        account = run.assigner.assign(accepting.__contains__)
        if account is None:
            imports.refuse_unsendable(line, refusal or "", cells, run)
            continue
        imports.count_taken(account, recipient, text, variants, plan)
    imports.progress("importing", len(checked) - len(earlier))
