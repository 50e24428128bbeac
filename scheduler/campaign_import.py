"""Recipients into a campaign, for `campaign start` and `campaign add-leads` alike.

The CSV is read once, as a stream, so memory stays flat whatever its size. Each batch of rows
is checked (recipient, template fields, the assigned sender's provider rules, duplicates), its
skips decided (opted out, already contacted, already in this campaign), and its delivery rows
handed to the bulk writer of the import's one transaction. By default any error stops the
writing, the rest of the file is still checked so that every mistake is reported, and the
transaction rolls back; with `skip_invalid` each refused row goes to the rejects file instead.

What each lead gets, and whether a provider can send it, is `lead_steps`'s.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.assignment import Assigner
from scheduler.campaign_file import CampaignSpec
from scheduler.dry_run_parts import check_part, take_checked
from scheduler.estimates import finish_estimate
from scheduler.file_parts import cut_in_two
from scheduler.helper_process import Helper, HelperFailed, can_fork
from scheduler.lead_steps import LeadSteps, Rendered
from scheduler.leads import (
    RECIPIENT_COLUMNS,
    Lead,
    LeadError,
    Part,
    PartMisaligned,
    leads_header,
    read_leads,
)
from scheduler.rejects import RejectsFile, default_rejects_path
from scheduler.seen import SeenRecipients
from worker.accounts import ProviderName
from worker.bulk_deliveries import BulkDeliveries, Row
from worker.errors import CampaignInputError, OutreachError
from worker.logs import get_logger
from worker.models import MediaRecord, Status
from worker.recipients import RecipientKind
from worker.runtime import Runtime

BATCH = 2000
ALREADY_HERE = "already in this campaign"
SAMPLES = 20  # skipped recipients kept to show; the rest are counted
Progress = Callable[[str, int], None]  # ("importing", rows done since)
COLUMN_OF = {kind: column for column, kind in RECIPIENT_COLUMNS.items()}
# A dry run over a file this big reads it on two cores (`run`); the first part, this process's,
# is the smaller, as this process also does what needs every row in order.
PARALLEL_FROM_BYTES = 8 << 20
FIRST_PART_SHARE = 0.35
log = get_logger(__name__)


@dataclass
class Plan:
    """What importing does (or would do, for --dry-run)."""

    campaign: str
    recipients: int = 0  # good rows read (skipped ones included)
    per_account: Counter[str] = field(default_factory=Counter)
    samples: dict[str, tuple[str, str]] = field(default_factory=dict)  # account -> (to, text)
    skipped: dict[str, str] = field(default_factory=dict)  # recipient -> why (a sample)
    skipped_count: int = 0
    sends: int = 0
    finish_estimate: datetime | None = None
    rejected: int = 0  # rows refused (written to the rejects file)
    duplicates: int = 0  # rows naming a recipient an earlier row named (skip_invalid)
    rejects_file: Path | None = None
    variants: Counter[tuple[int, str]] = field(default_factory=Counter)  # (step, name) -> count


@dataclass
class ImportRun:
    """One pass's state."""

    plan: Plan
    assigner: Assigner
    stamp: Any  # the import's time, as the sink stores it
    writing: bool  # False for a dry run: no rows to build
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    rejects: RejectsFile | None = None
    seen: SeenRecipients = field(default_factory=SeenRecipients)


class LeadsImport:
    def __init__(
        self,
        runtime: Runtime,
        spec: CampaignSpec,
        leads_file: Path,
        *,
        now: datetime | None = None,
        progress: Progress | None = None,
        adding: bool = False,
        skip_invalid: bool = False,
        rejects: Path | None = None,
        parallel_from: int | None = PARALLEL_FROM_BYTES,
    ):
        """`parallel_from`: the size in bytes from which a dry run reads the file on two
        cores (None: never)."""
        self.runtime = runtime
        self.spec = spec
        self.leads_file = leads_file
        self.now = now or datetime.now(UTC)
        self.progress = _OnceProgress(progress or (lambda phase, count: None))
        self.adding = adding  # into a campaign that already has recipients
        self.skip_invalid = skip_invalid
        self.rejects_path = rejects
        self.parallel_from = parallel_from
        self.pool: list[tuple[str, ProviderName, int]] = []  # (account, provider, daily cap)
        self.providers: dict[str, ProviderName] = {}
        for name in spec.accounts:
            account = runtime.accounts[name]
            self.providers[name] = account.provider
            cap = account.daily_limit or runtime.settings.daily_limit
            self.pool.append((name, account.provider, min(cap, spec.daily_limit or cap)))
        providers_used = list(dict.fromkeys(provider for _, provider, _ in self.pool))
        self.steps = LeadSteps(spec, providers_used)

    def run(self, sink: BulkDeliveries | None = None) -> Plan:
        """One pass over the file (a dry run on two cores that is given up makes a second):
        check every row and, given a `sink` (the import's transaction), write the rows of the
        recipients taken. Any error (without `skip_invalid`) is raised after the whole file
        was read, so the transaction that wrote the rows before it rolls back: either every
        row is written or none is."""
        parts = self._parts() if sink is None else None
        if parts is not None:
            log.info("dry_run_on_two_cores", helper_from_line=parts[1].after + 1)
            try:
                return self._run(None, parts)
            except (PartMisaligned, HelperFailed) as exc:
                log.warning("dry_run_reads_file_whole", reason=str(exc))
                self.progress.again()
        return self._run(sink, None)

    def _parts(self) -> tuple[Part, Part] | None:
        """Where a dry run may cut the file, when it is worth reading on two cores."""
        if self.parallel_from is None or not can_fork():
            return None
        if self.leads_file.stat().st_size < self.parallel_from:
            return None
        return cut_in_two(self.leads_file, FIRST_PART_SHARE)

    def _run(self, sink: BulkDeliveries | None, parts: tuple[Part, Part] | None) -> Plan:
        rejects_path = self._rejects_path() if self.skip_invalid else None
        # The helper forks first, before this pass opens its files.
        helper = Helper(lambda send: check_part(self, parts[1], send, BATCH)) if parts else None
        rejects: RejectsFile | None = None
        try:
            if rejects_path is not None:
                rejects = RejectsFile(rejects_path, leads_header(self.leads_file))
            run = ImportRun(
                Plan(self.spec.name, rejects_file=rejects_path),
                Assigner(self.pool),
                sink.stamp(self.now) if sink is not None else self.now,
                writing=sink is not None,
                rejects=rejects,
            )
            with run.seen:
                self._pass(parts[0] if parts else None, sink, run)
                if helper is not None:
                    for checked in helper.batches():
                        take_checked(self, checked, run)
        finally:
            if helper is not None:
                helper.close()
            if rejects is not None:
                rejects.close()
        plan = run.plan
        if run.errors:
            ordered = sorted(run.errors)
            raise CampaignInputError(
                [message for _, message in ordered], [line for line, _ in ordered]
            )
        plan.finish_estimate = self.estimate(plan.per_account)
        return plan

    def _pass(self, part: Part | None, sink: BulkDeliveries | None, run: ImportRun) -> None:
        """Check the rows of `part` (all of them without), and give `sink` those to write."""
        batch: list[Lead] = []
        for item in self.leads(part):
            if isinstance(item, LeadError):
                self.refuse(item, run)
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                rows = self._batch(self._first_mentions(batch, run), run)
                if sink is not None and not run.errors:
                    sink.write(rows)
                batch = []
        rows = self._batch(self._first_mentions(batch, run), run)
        if sink is not None and not run.errors:
            sink.write(rows)

    def _rejects_path(self) -> Path:
        path = self.rejects_path or default_rejects_path(self.leads_file)
        if path.resolve() == self.leads_file.resolve():
            raise OutreachError(
                f"{path} is the leads file: give the refused rows another path"
                " (--rejects PATH), or rename the file you fixed"
            )
        return path

    def leads(self, part: Part | None = None) -> Iterator[Lead | LeadError]:
        return read_leads(
            self.leads_file,
            self.steps.fields,
            required=self.steps.required,
            columns=self.spec.columns,
            dedupe=False,  # _first_mentions does, on disk
            part=part,
        )

    def _first_mentions(self, leads: list[Lead], run: ImportRun) -> list[Lead]:
        """The leads whose recipient no earlier row named; the others are refused."""
        earlier = run.seen.earlier([(lead.recipient.value, lead.line) for lead in leads])
        if not earlier:
            return leads
        for lead in leads:
            first = earlier.get(lead.line)
            if first is not None:
                self.refuse_repeat(lead.line, lead.recipient.kind, first, run)
        return [lead for lead in leads if lead.line not in earlier]

    def refuse_repeat(self, line: int, kind: RecipientKind, first: int, run: ImportRun) -> None:
        message = f"the same recipient as line {first}"
        self.refuse(LeadError(line, COLUMN_OF[kind], message, [], first), run)

    def refuse(self, item: LeadError, run: ImportRun, *, counted: bool = False) -> None:
        if not counted:  # a row done, all the same (a batch counts its own)
            self.progress("importing", 1)
        if run.rejects is None or item.line == 1:  # a header problem refuses the whole file
            run.errors.append((item.line, item.describe(str(self.leads_file))))
        elif item.duplicate_of is not None:
            run.plan.duplicates += 1
        else:
            column = f"{item.column}: " if item.column else ""
            run.rejects.add(item.line, column + item.message, item.cells)
            run.plan.rejected += 1

    def _batch(self, leads: list[Lead], run: ImportRun) -> list[Row]:
        """Decide each lead of a batch; the rows to write for those taken."""
        plan, stamp = run.plan, run.stamp
        skips = self.skips([lead.recipient.value for lead in leads])
        rows: list[Row] = []
        for lead in leads:
            plan.recipients += 1
            why = skips.get(lead.recipient.value)
            if why is not None:
                self.count_skipped(lead.recipient.value, why, plan)
                if why != ALREADY_HERE and run.writing:  # (the row is there already)
                    first, skipped = self.spec.accounts[0], Status.SKIPPED
                    rendered = self.steps.render(lead)
                    rows.append(self.row(lead, 0, rendered[0], first, skipped, stamp, why))
                continue
            if run.writing:
                rendered = self.steps.render(lead)
                texts, subjects, variants = self.steps.steps_in(rendered)
            else:
                texts, subjects, variants = self.steps.steps_of(lead)
            problems = self.steps.judge(lead.recipient, texts, subjects)
            account = run.assigner.assign(_accepting(problems))
            if account is None:
                self.refuse_unsendable(lead.line, self.steps.refusal(problems), lead.cells, run)
                continue
            if run.writing:
                for number, r in enumerate(rendered):
                    status = Status.QUEUED if number == 0 else Status.WAITING
                    rows.append(self.row(lead, number, r, account, status, stamp))
            self.count_taken(account, lead.recipient.value, texts[0], variants, plan)
        self.progress("importing", len(leads))
        return rows

    def count_skipped(self, recipient: str, why: str, plan: Plan) -> None:
        plan.skipped_count += 1
        if len(plan.skipped) < SAMPLES:
            plan.skipped[recipient] = why

    def refuse_unsendable(self, line: int, reason: str, cells: list[str], run: ImportRun) -> None:
        run.plan.recipients -= 1
        self.refuse(LeadError(line, None, reason, cells), run, counted=True)

    def count_taken(
        self,
        account: str,
        recipient: str,
        first_text: str,
        variants: tuple[str | None, ...] | None,
        plan: Plan,
    ) -> None:
        plan.per_account[account] += 1
        plan.sends += len(self.spec.steps)
        for number, name in enumerate(variants or (), start=1):
            if name is not None:
                plan.variants[(number, name)] += 1
        if account not in plan.samples:
            plan.samples[account] = (recipient, first_text)

    def skips(self, recipients: list[str]) -> dict[str, str]:
        """Who not to contact, and why: already in this campaign (adding leads; first, as
        their row exists and gets no second), opted out always, contacted unless
        `recontact`."""
        store = self.runtime.store
        skips: dict[str, str] = {}
        if self.adding:
            skips = dict.fromkeys(store.in_campaign(self.spec.name, recipients), ALREADY_HERE)
        for r, flag in self.runtime.recipients.flags(recipients).items():
            if flag.opted_out_at is not None:
                skips.setdefault(r, "opted out")
        if not self.spec.recontact:
            for recipient in store.contacted(recipients):
                skips.setdefault(recipient, "already contacted by outreach")
        return skips

    def row(  # noqa: PLR0917 (one argument per column group)
        self,
        lead: Lead,
        number: int,
        rendered: Rendered,
        account: str,
        status: Status,
        stamp: Any,
        error: str | None = None,
    ) -> Row:
        """A delivery row, in `bulk_deliveries.COLUMNS` order."""
        step = self.spec.steps[number]
        media = step.media
        return (
            rendered.key, self.spec.name, number, account, self.providers[account],
            lead.recipient.value, rendered.text, rendered.subject, step.inmail, step.media_link,
            media.ref if media else None, media.content_type if media else None,
            rendered.variant.name, status.name, 0, 0, error,
            step.after_s if number else None, stamp, stamp, stamp,
        )  # fmt: skip

    def media(self) -> list[MediaRecord]:
        """The files the steps attach, to store once with the campaign."""
        records = {}
        for step in self.spec.steps:
            media = step.media
            if media is not None and media.data is not None:
                records[media.ref] = MediaRecord(
                    ref=media.ref,
                    content_type=media.content_type,
                    data_base64=base64.b64encode(media.data).decode("ascii"),
                    created_at=self.now,
                )
        return list(records.values())

    def estimate(self, per_account: Counter[str]) -> datetime | None:
        steps = len(self.spec.steps)
        sends = {name: count * steps for name, count in per_account.items()}
        zone = ZoneInfo(self.runtime.accounts[self.spec.accounts[0]].timezone)
        window = self.spec.window
        start = window.next_open(self.now, zone) if window else self.now
        followups_s = sum(step.after_s for step in self.spec.steps)
        return finish_estimate(
            self.runtime,
            sends,
            {name: cap for name, _, cap in self.pool},
            window=window,
            start=start,
            followups_s=followups_s,
        )


class _OnceProgress:
    """Reports each row once, however many passes a dry run makes: after a two-core pass given
    up (`again`), the one-core pass reports only past where it had got to."""

    def __init__(self, report: Progress):
        self._report = report
        self._reported = self._done = 0

    def __call__(self, phase: str, count: int) -> None:
        self._done += count
        if self._done > self._reported:
            self._report(phase, self._done - self._reported)
            self._reported = self._done

    def again(self) -> None:
        self._done = 0


def _accepting(problems: Callable[[ProviderName], list[str]]) -> Callable[[ProviderName], bool]:
    return lambda provider: not problems(provider)
