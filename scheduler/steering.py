"""Steering campaigns and recipients after the start: pause, resume, cancel, report; mark
people as replied or opted out. The worker checks the same state before every send, so a
change here takes effect at the next release, whatever Redis still holds."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.campaigns import finish_estimate, index_queued
from worker.errors import InvalidMessageError, NotFoundError, OutreachError, Problem
from worker.lifecycle import Lifecycle
from worker.limits import day_start
from worker.models import Campaign, CampaignStatus, Delivery, ReplyHow, Status
from worker.recipient_store import NewReply
from worker.recipients import parse_recipient
from worker.runtime import Runtime
from worker.sequences import window_of

ACTIVE = (CampaignStatus.RUNNING, CampaignStatus.PAUSED)


def _campaign(runtime: Runtime, name: str) -> Campaign:
    campaign = runtime.campaigns.get(name)
    if campaign is None:
        known = ", ".join(c.name for c in runtime.campaigns.all()) or "none"
        raise NotFoundError(f"no campaign named {name!r} (campaigns: {known})")
    return campaign


def campaign_lines(runtime: Runtime) -> list[dict[str, Any]]:
    """Every campaign with its progress, as `outreach campaigns --json` and the API show it."""
    lines = []
    for campaign in runtime.campaigns.all():
        counts: dict[str, int] = {}
        for _, state, count in runtime.reports.step_counts(campaign.name):
            counts[state] = counts.get(state, 0) + count
        sent = counts.pop("sent", 0)
        pending = counts.pop("queued", 0) + counts.pop("waiting", 0)
        lines.append(
            {
                "campaign": campaign.name,
                "status": campaign.status.value,
                "sent": sent,
                "pending": pending,
                "other": counts,
            }
        )
    return lines


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
    contacted: int = 0  # recipients whose first step this account sent
    replied: int = 0  # of those, how many replied
    reply_rate: float | None = None


@dataclass(frozen=True)
class StepReplies:
    step: int  # 1-based
    sent: int
    replied: int  # recipients whose reply came after this step (and before the next)
    reply_rate: float | None


@dataclass(frozen=True)
class VariantLine:
    step: int  # 1-based
    variant: str
    sent: int
    replied: int  # recipients whose reply came after this step (and before the next)
    reply_rate: float | None


@dataclass(frozen=True)
class CampaignReport:
    name: str
    status: str
    steps: dict[int, dict[str, int]]  # step (1-based) -> status -> count
    accounts: list[AccountLine]
    finish_estimate: datetime | None
    replies: list[StepReplies] = field(default_factory=list)
    replied: int = 0  # recipients who replied, in all
    reply_rate: float | None = None  # of the recipients contacted
    variants: list[VariantLine] = field(default_factory=list)  # A/B variants' results


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def campaign_report(runtime: Runtime, name: str, now: datetime | None = None) -> CampaignReport:
    moment = now or datetime.now(UTC)
    campaign = _campaign(runtime, name)
    steps: dict[int, dict[str, int]] = {}
    for step, status, count in runtime.reports.step_counts(name):
        steps.setdefault(step + 1, {})[status] = count
    pending = runtime.reports.pending_by_account(name)
    sent = runtime.reports.sent_by(name)
    counts = runtime.recipients.reply_counts(name)
    lines = []
    capacities = {}
    for account_name in campaign.accounts.split(","):
        account = runtime.accounts.find(account_name)
        zone_name = account.timezone if account else "UTC"
        today = runtime.store.sends_since(account_name, day_start(moment, ZoneInfo(zone_name)))
        state = runtime.due_index.state(account_name)
        pause = state.pause_at(moment.timestamp())
        contacted = sent.get((0, account_name), 0)
        replied = counts.by_account.get(account_name, 0)
        lines.append(
            AccountLine(
                account_name,
                today,
                pending.get(account_name, 0),
                pause.until if pause else None,
                pause.reason if pause else None,
                contacted,
                replied,
                _rate(replied, contacted),
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
        delays_s = sum(runtime.reports.waiting_delays(name).values())
        estimate = finish_estimate(
            runtime, pending, capacities, window=window, start=start, followups_s=delays_s
        )
    replies = []
    for step in range(campaign.steps):
        step_sent = sum(n for (s, _), n in sent.items() if s == step)
        replied = counts.by_step.get(step, 0)
        replies.append(StepReplies(step + 1, step_sent, replied, _rate(replied, step_sent)))
    contacted = sum(n for (s, _), n in sent.items() if s == 0)
    replied_in_all = runtime.recipients.replied_recipients(name)
    variants = [
        VariantLine(step + 1, variant, n, replied, _rate(replied, n))
        for (step, variant), (n, replied) in sorted(runtime.reports.variant_counts(name).items())
    ]
    return CampaignReport(
        name,
        campaign.status.value,
        steps,
        lines,
        estimate,
        replies,
        replied_in_all,
        _rate(replied_in_all, contacted),
        variants,
    )


def campaign_report_json(runtime: Runtime, name: str) -> dict[str, Any]:
    """`campaign_report` as `outreach campaign status --json` prints it and the API answers."""
    report = asdict(campaign_report(runtime, name))
    return json.loads(json.dumps(report, default=str))  # type: ignore[no-any-return]


def mark_replied(runtime: Runtime, recipients: Iterable[str], campaign: str | None = None) -> int:
    """They replied: stop every sequence to them (only `campaign`'s, if given), and record
    the reply as manual. Returns how many sends were cancelled."""
    parsed = _parse(recipients)
    if campaign is None:
        return _flag(runtime, parsed, replied=True)
    _campaign(runtime, campaign)
    now = datetime.now(UTC)
    replies = [_manual_reply(runtime, recipient, campaign, now) for recipient in parsed]
    return Lifecycle.of(runtime).stop_replied(replies, now).cancelled


def _manual_reply(
    runtime: Runtime, recipient: str, campaign: str | None, now: datetime
) -> NewReply:
    """A reply marked by hand, attributed to the last step sent to `recipient` there."""
    sent = [s for s in runtime.store.steps_of(recipient, campaign) if s.status == Status.SENT]
    last = max(sent, key=lambda s: (s.sent_at or now, s.step)) if sent else None
    return NewReply(
        recipient=recipient,
        received_at=now,
        how=ReplyHow.MANUAL,
        account=last.account if last else None,
        campaign=last.campaign if last else campaign,
        step=last.step if last else None,
    )


def unmark_replied(runtime: Runtime, recipients: Iterable[str], campaign: str | None = None) -> int:
    """Undo "replied" (in `campaign` only, if given): forget the recorded replies and give
    back to their sequences the steps a reply had cancelled. Returns how many steps went
    back."""
    parsed = _parse(recipients)
    if campaign is not None:
        _campaign(runtime, campaign)
    now = datetime.now(UTC)
    reopened = 0
    for recipient in parsed:
        if campaign is None:
            runtime.recipients.unflag_replied(recipient)
        runtime.recipients.forget_replies(recipient, campaign)
        reopened += _reopen(runtime, recipient, campaign, now)
    return reopened


def _reopen(runtime: Runtime, recipient: str, campaign: str | None, now: datetime) -> int:
    """Put back the steps cancelled by a reply: the first is due now, the rest wait."""
    store = runtime.store
    reopened = 0
    by_campaign: dict[str, list[Delivery]] = {}
    for step in store.steps_of(recipient, campaign):
        if step.status == Status.CANCELLED and step.error == "replied" and step.campaign:
            by_campaign.setdefault(step.campaign, []).append(step)
    for steps in by_campaign.values():
        first, *rest = sorted(steps, key=lambda s: s.step)
        changes = {"status": Status.QUEUED, "error": None, "due_at": now, "updated_at": now}
        if store.move(first.id or 0, [Status.CANCELLED], changes):
            runtime.due_index.index(first.model_copy(update=changes))
            reopened += 1
        for step in rest:
            changes = {"status": Status.WAITING, "error": None, "updated_at": now}
            reopened += store.move(step.id or 0, [Status.CANCELLED], changes)
    return reopened


def opt_out(runtime: Runtime, recipients: Iterable[str]) -> int:
    """Never contact them again, in any campaign. Returns how many sends were cancelled."""
    return _flag(runtime, recipients, replied=False)


def _parse(recipients: Iterable[str]) -> list[str]:
    parsed = []
    problems = []
    for text in recipients:
        try:
            parsed.append(parse_recipient(text).value)
        except ValueError as exc:
            problems.append(Problem("recipient", str(exc)))
    if problems:
        raise InvalidMessageError(problems)
    return parsed


def _flag(runtime: Runtime, recipients: Iterable[str], *, replied: bool) -> int:
    parsed = _parse(recipients)
    now = datetime.now(UTC)
    reason = "replied" if replied else "opted out"
    cancelled = 0
    for recipient in parsed:
        if replied:
            runtime.recipients.flag(recipient, replied_at=now)
            reply = _manual_reply(runtime, recipient, None, now)
            Lifecycle.of(runtime).record_replies([reply], now)
        else:
            runtime.recipients.flag(recipient, opted_out_at=now)
        cancelled += runtime.store.cancel_pending(recipient=recipient, reason=reason)
    return cancelled
