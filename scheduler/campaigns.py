"""Campaigns: start one from a campaign file and a recipients CSV, and steer it.

Starting reads the CSV twice, as a stream. The first pass checks every row (recipient,
template variables, the assigned sender's provider rules, duplicates) and decides who is
skipped (opted out, already contacted, in another running campaign); any error stops
everything before a single row is written. The second pass writes every step of every
sequence in one transaction, then indexes the first steps in Redis in pipelined batches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.assignment import Assigner
from scheduler.campaign_file import CampaignSpec, load_campaign
from scheduler.idempotency import campaign_step_key
from scheduler.leads import Lead, LeadError, read_leads
from worker.accounts import ProviderName
from worker.errors import CampaignInputError, OutreachError
from worker.models import Campaign, CampaignStatus, Status
from worker.providers import check_request
from worker.providers.base import SendRequest
from worker.runtime import Runtime
from worker.windows import SendWindow

BATCH = 2000
Progress = Callable[[str, int], None]  # ("checking" or "writing", rows done since)


@dataclass
class Plan:
    """What starting a campaign does (or would do, for --dry-run)."""

    campaign: str
    recipients: int = 0
    per_account: Counter[str] = field(default_factory=Counter)
    samples: dict[str, tuple[str, str]] = field(default_factory=dict)  # account -> (to, text)
    skipped: dict[str, str] = field(default_factory=dict)  # recipient -> why
    sends: int = 0
    finish_estimate: datetime | None = None


def start_campaign(
    runtime: Runtime,
    campaign_file: Path,
    leads_file: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Plan:
    """Check the files whole, then (unless `dry_run`) record and queue the campaign."""
    spec = load_campaign(campaign_file)
    if runtime.campaigns.get(spec.name) is not None:
        raise OutreachError(f"a campaign named {spec.name!r} exists; give this one another name")
    starter = _Starter(runtime, spec, leads_file, now or datetime.now(UTC), progress)
    plan = starter.check()
    if not dry_run:
        runtime.campaigns.write(_campaign_row(spec, starter.now), starter.rows(plan))
        index_queued(runtime, spec.name)
    return plan


def index_queued(runtime: Runtime, campaign: str) -> int:
    """Put a campaign's queued deliveries in Redis, in pipelined batches."""
    count = 0
    for entries in runtime.store.queue_entries(campaign):
        runtime.due_index.enqueue(entries)
        count += len(entries)
    return count


class _Starter:
    def __init__(
        self,
        runtime: Runtime,
        spec: CampaignSpec,
        leads_file: Path,
        now: datetime,
        progress: Progress | None,
    ):
        self.runtime = runtime
        self.spec = spec
        self.leads_file = leads_file
        self.now = now
        self.progress = progress or (lambda phase, count: None)
        self.fields = dict.fromkeys(f for step in spec.steps for f in step.template.fields)
        self.pool: list[tuple[str, ProviderName, int]] = []  # (account, provider, daily capacity)
        for name in spec.accounts:
            account = runtime.accounts[name]
            cap = account.daily_limit or runtime.settings.daily_limit
            self.pool.append((name, account.provider, min(cap, spec.daily_limit or cap)))

    def judge(self, lead: Lead) -> Callable[[ProviderName], list[str]]:
        """For one lead: what a provider would refuse in any step sent to it (each provider
        is asked at most once per lead)."""
        by_provider: dict[ProviderName, list[str]] = {}

        def problems(provider: ProviderName) -> list[str]:
            if provider not in by_provider:
                by_provider[provider] = [
                    str(problem)
                    for step in self.spec.steps
                    for problem in check_request(
                        provider,
                        SendRequest(lead.recipient, step.template.render(lead.values)),
                    )
                ]
            return by_provider[provider]

        return problems

    def check(self) -> Plan:
        """The first pass: every error in the files, or the plan."""
        assigner = Assigner(self.pool)
        plan = Plan(self.spec.name)
        errors: list[tuple[int, str]] = []  # (line, message), reported in line order
        batch: list[Lead] = []
        for item in read_leads(self.leads_file, self.fields):
            if isinstance(item, LeadError):
                errors.append((item.line, item.describe(str(self.leads_file))))
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                self._check_batch(batch, assigner, plan, errors)
                batch = []
        self._check_batch(batch, assigner, plan, errors)
        if errors:
            ordered = sorted(errors)
            raise CampaignInputError(
                [message for _, message in ordered], [line for line, _ in ordered]
            )
        plan.finish_estimate = self.estimate(plan.per_account)
        return plan

    def _check_batch(
        self, leads: list[Lead], assigner: Assigner, plan: Plan, errors: list[tuple[int, str]]
    ) -> None:
        skips = self.skips([lead.recipient.value for lead in leads])
        for lead in leads:
            plan.recipients += 1
            if lead.recipient.value in skips:
                plan.skipped[lead.recipient.value] = skips[lead.recipient.value]
                continue
            problems = self.judge(lead)
            account = assigner.assign(_accepting(problems))
            if account is None:
                found = {p for provider in assigner.providers for p in problems(provider)}
                reasons = "; ".join(sorted(found))
                errors.append(
                    (
                        lead.line,
                        f"{self.leads_file}: line {lead.line}: no account in the"
                        f" pool can send this: {reasons}",
                    )
                )
                continue
            plan.per_account[account] += 1
            plan.sends += len(self.spec.steps)
            if account not in plan.samples:
                text = self.spec.steps[0].template.render(lead.values)
                plan.samples[account] = (lead.recipient.value, text)
        self.progress("checking", len(leads))

    def skips(self, recipients: list[str]) -> dict[str, str]:
        """Who not to contact, and why: opted out always; contacted unless `recontact`."""
        store = self.runtime.store
        skips = {
            r: "opted out"
            for r, flag in self.runtime.recipients.flags(recipients).items()
            if flag.opted_out_at is not None
        }
        if not self.spec.recontact:
            for recipient in store.contacted(recipients):
                skips.setdefault(recipient, "already contacted by outreach")
        return skips

    def rows(self, plan: Plan) -> Iterator[list[dict[str, Any]]]:
        """The second pass: delivery rows, batch by batch, assigned exactly as `check` did."""
        assigner = Assigner(self.pool)
        batch: list[dict[str, Any]] = []
        for lead in read_leads(self.leads_file, self.fields):
            assert isinstance(lead, Lead)  # the first pass found no errors
            why = plan.skipped.get(lead.recipient.value)
            if why is not None:
                batch.append(self.row(lead, 0, self.spec.accounts[0], Status.SKIPPED, why))
            else:
                problems = self.judge(lead)
                account = assigner.assign(_accepting(problems))
                assert account is not None
                for step in range(len(self.spec.steps)):
                    status = Status.QUEUED if step == 0 else Status.WAITING
                    batch.append(self.row(lead, step, account, status))
            if len(batch) >= BATCH:
                yield batch
                self.progress("writing", len(batch))
                batch = []
        yield batch
        self.progress("writing", len(batch))

    def row(
        self, lead: Lead, step: int, account: str, status: Status, error: str | None = None
    ) -> dict[str, Any]:
        recipient = lead.recipient.value
        return {
            "idempotency_key": campaign_step_key(self.spec.name, recipient, step),
            "campaign": self.spec.name, "step": step, "account": account,
            "provider": self.runtime.accounts[account].provider, "recipient": recipient,
            "text": self.spec.steps[step].template.render(lead.values), "inmail": False,
            "status": status, "attempts": 0, "rate_limits": 0, "error": error,
            "after_s": self.spec.steps[step].after_s if step else None,
            "created_at": self.now, "due_at": self.now, "updated_at": self.now,
        }  # fmt: skip

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


def finish_estimate(
    runtime: Runtime,
    sends: dict[str, int],
    capacities: dict[str, int],
    *,
    window: SendWindow | None,
    start: datetime,
    followups_s: float = 0.0,
) -> datetime | None:
    """When the last send should go: an account makes at most its cap a day, no faster than its
    mean gap allows within the day's window, on the window's days; follow-ups add their
    delays. An estimate: replies, skips and rate limits move it."""
    if not any(sends.values()):
        return None
    settings = runtime.settings
    mean_gap_s = max((settings.pace_min_seconds + settings.pace_max_seconds) / 2, 1e-9)
    open_s, days_open = 86400.0, 7
    if window is not None:
        open_s = window.open_minutes * 60.0
        days_open = len(window.days)
    days = (
        max(
            count / min(capacities.get(name, settings.daily_limit), open_s / mean_gap_s)
            for name, count in sends.items()
        )
        * 7
        / days_open
    )
    return start + timedelta(days=days, seconds=followups_s)


def _accepting(problems: Callable[[ProviderName], list[str]]) -> Callable[[ProviderName], bool]:
    return lambda provider: not problems(provider)


def _campaign_row(spec: CampaignSpec, now: datetime) -> Campaign:
    days, start, end = spec.window.to_columns() if spec.window else (None, None, None)
    return Campaign(
        name=spec.name, status=CampaignStatus.RUNNING, accounts=",".join(spec.accounts),
        steps=len(spec.steps), daily_limit=spec.daily_limit, recontact=spec.recontact,
        on_unreadable=spec.on_unreadable,
        window_days=days, window_start_minutes=start, window_end_minutes=end,
        created_at=now, updated_at=now,
    )  # fmt: skip
