"""Steering campaigns and recipients after the start: pause, resume, cancel, report; mark
people as replied or opted out. The worker checks the same state before every send, so a
change here takes effect at the next release, whatever Redis still holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from scheduler.campaigns import finish_estimate, index_queued
from worker.errors import InvalidMessageError, OutreachError, Problem
from worker.limits import day_start
from worker.models import Campaign, CampaignStatus
from worker.recipients import parse_recipient
from worker.runtime import Runtime
from worker.sequences import window_of

ACTIVE = (CampaignStatus.RUNNING, CampaignStatus.PAUSED)


def _campaign(runtime: Runtime, name: str) -> Campaign:
    campaign = runtime.campaigns.get(name)
    if campaign is None:
        known = ", ".join(c.name for c in runtime.campaigns.all()) or "none"
        raise OutreachError(f"no campaign named {name!r} (campaigns: {known})")
    return campaign


def pause_campaign(runtime: Runtime, name: str) -> None:
    _campaign(runtime, name)
    if not runtime.campaigns.set_status(name, CampaignStatus.PAUSED, [CampaignStatus.RUNNING]):
        raise OutreachError(f"campaign {name!r} is not running")


def resume_campaign(runtime: Runtime, name: str) -> int:
    """Run a paused campaign again; returns how many deliveries were re-queued."""
    _campaign(runtime, name)
    if not runtime.campaigns.set_status(name, CampaignStatus.RUNNING, [CampaignStatus.PAUSED]):
        raise OutreachError(f"campaign {name!r} is not paused")
    return index_queued(runtime, name)


def cancel_campaign(runtime: Runtime, name: str) -> int:
    """Stop a campaign for good; returns how many deliveries were cancelled."""
    _campaign(runtime, name)
    if not runtime.campaigns.set_status(name, CampaignStatus.CANCELLED, list(ACTIVE)):
        raise OutreachError(f"campaign {name!r} is already cancelled")
    return runtime.store.cancel_campaign(name)


@dataclass(frozen=True)
class AccountLine:
    account: str
    sent_today: int
    pending: int
    paused_until: datetime | None
    pause_reason: str | None


@dataclass(frozen=True)
class CampaignReport:
    name: str
    status: str
    steps: dict[int, dict[str, int]]  # step (1-based) -> status -> count
    accounts: list[AccountLine]
    finish_estimate: datetime | None


def campaign_report(runtime: Runtime, name: str, now: datetime | None = None) -> CampaignReport:
    moment = now or datetime.now(UTC)
    campaign = _campaign(runtime, name)
    steps: dict[int, dict[str, int]] = {}
    for step, status, count in runtime.store.step_counts(name):
        steps.setdefault(step + 1, {})[status] = count
    pending = runtime.store.pending_by_account(name)
    lines = []
    capacities = {}
    for account_name in campaign.accounts.split(","):
        account = runtime.accounts.find(account_name)
        zone_name = account.timezone if account else "UTC"
        sent = runtime.store.sends_since(account_name, day_start(moment, ZoneInfo(zone_name)))
        state = runtime.due_index.state(account_name)
        pause = state.pause_at(moment.timestamp())
        lines.append(
            AccountLine(
                account_name,
                sent,
                pending.get(account_name, 0),
                pause.until if pause else None,
                pause.reason if pause else None,
            )
        )
        cap = (
            account.daily_limit if account and account.daily_limit else runtime.settings.daily_limit
        )
        capacities[account_name] = min(cap, campaign.daily_limit or cap)
    estimate = None
    if campaign.status == CampaignStatus.RUNNING:
        window = window_of(campaign)
        first = runtime.accounts.find(campaign.accounts.split(",")[0])
        start = window.next_open(moment, ZoneInfo(first.timezone if first else "UTC"))
        delays_s = sum(runtime.store.waiting_delays(name).values())
        estimate = finish_estimate(
            runtime, pending, capacities, window=window, start=start, followups_s=delays_s
        )
    return CampaignReport(name, campaign.status.value, steps, lines, estimate)


def mark_replied(runtime: Runtime, recipients: Iterable[str]) -> int:
    """They replied: stop every sequence to them. Returns how many sends were cancelled."""
    return _flag(runtime, recipients, replied=True)


def opt_out(runtime: Runtime, recipients: Iterable[str]) -> int:
    """Never contact them again, in any campaign. Returns how many sends were cancelled."""
    return _flag(runtime, recipients, replied=False)


def _flag(runtime: Runtime, recipients: Iterable[str], *, replied: bool) -> int:
    parsed = []
    problems = []
    for text in recipients:
        try:
            parsed.append(parse_recipient(text).value)
        except ValueError as exc:
            problems.append(Problem("recipient", str(exc)))
    if problems:
        raise InvalidMessageError(problems)
    now = datetime.now(UTC)
    reason = "replied" if replied else "opted out"
    cancelled = 0
    for recipient in parsed:
        if replied:
            runtime.recipients.flag(recipient, replied_at=now)
        else:
            runtime.recipients.flag(recipient, opted_out_at=now)
        cancelled += runtime.store.cancel_pending(recipient=recipient, reason=reason)
    return cancelled
