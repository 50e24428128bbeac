"""What the live page shows, read at one moment: every campaign's report (the very one
`outreach campaign status --json` prints), each account's state and daily cap, what needs a
person, and the charts. The templates only lay these values out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.api.page import charts, queries
from scheduler.operations import AccountSummary, account_state, account_summaries
from scheduler.steering import CampaignReport, campaign_lines, campaign_report
from worker.limits import day_start
from worker.models import CampaignStatus, Delivery, ReplyRecord, Status
from worker.runtime import Runtime

PENDING = (Status.WAITING, Status.QUEUED, Status.SENDING, Status.CONFIRMING)
ENDED = (Status.SENT, Status.FAILED, Status.UNKNOWN, Status.CANCELLED, Status.SKIPPED)
UNKNOWN_SHOWN = 50
REPLIES_SHOWN = 8
BREAKER = "breaker:"  # how the breaker's pause reasons begin (worker/policy.py)


@dataclass(frozen=True)
class StepLine:
    step: int  # 1-based
    counts: dict[str, int]  # status -> deliveries, as in the report
    total: int
    ended: int  # in a final status: the step's progress
    pending: int
    sent: int  # the report's replies line: sent, and replied after this step
    replied: int
    reply_rate: float | None

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


@dataclass(frozen=True)
class CampaignView:
    report: CampaignReport
    daily_limit: int | None  # the campaign's own cap per account, if it set one
    steps: list[StepLine]
    totals: dict[str, int]  # status -> deliveries over every step; "pending" sums the rest
    funnel: charts.Funnel


@dataclass(frozen=True)
class AccountView:
    summary: AccountSummary
    state: str  # sending, paced, paused, waiting, idle
    detail: str
    cap: int  # sends a day, across campaigns
    cap_used: int  # send requests since the account's local midnight: what the cap counts


@dataclass(frozen=True)
class PausedAccount:
    """An account only a person gets going again: paused until resumed, or by the breaker."""

    account: str
    reason: str
    until: datetime | None  # None: until resumed
    command: str


@dataclass(frozen=True)
class UnknownDelivery:
    delivery: Delivery
    command: str


@dataclass(frozen=True)
class Snapshot:
    generated_at: datetime
    campaigns: list[CampaignView]  # running and paused
    ended: list[dict[str, Any]]  # cancelled campaigns, as `outreach campaigns --json` lines
    accounts: list[AccountView]
    paused: list[PausedAccount]
    unknown: list[UnknownDelivery]
    unknown_total: int
    replies: list[ReplyRecord]
    hourly: charts.HourlyChart


def step_lines(report: CampaignReport) -> list[StepLine]:
    replies = {line.step: line for line in report.replies}
    lines = []
    for step in sorted(set(report.steps) | set(replies)):
        counts = report.steps.get(step, {})
        after = replies.get(step)
        lines.append(
            StepLine(
                step,
                counts,
                sum(counts.values()),
                sum(counts.get(s, 0) for s in ENDED),
                sum(counts.get(s, 0) for s in PENDING),
                after.sent if after else 0,
                after.replied if after else 0,
                after.reply_rate if after else None,
            )
        )
    return lines


def totals(steps: list[StepLine]) -> dict[str, int]:
    summed = {s.value: sum(line.count(s) for line in steps) for s in ENDED}
    summed["pending"] = sum(line.pending for line in steps)
    return summed


def funnel_of(report: CampaignReport) -> charts.Funnel:
    """Sent → replied: each step's sends, then the recipients who replied."""
    stages = [(f"step {line.step} sent", line.sent) for line in report.replies]
    return charts.funnel([*stages, ("replied", report.replied)])


def needs_resume(summary: AccountSummary) -> bool:
    return summary.paused_forever or (summary.pause_reason or "").startswith(BREAKER)


def _account_views(runtime: Runtime, now: datetime) -> list[AccountView]:
    views = []
    for summary in account_summaries(runtime):
        account = runtime.accounts[summary.account]
        since = day_start(now, ZoneInfo(account.timezone))
        state, detail = account_state(summary, now)
        views.append(
            AccountView(
                summary,
                state,
                detail,
                account.daily_limit or runtime.settings.daily_limit,
                runtime.store.sends_since(summary.account, since),
            )
        )
    return views


def take(runtime: Runtime, now: datetime | None = None) -> Snapshot:
    moment = now or datetime.now(UTC)
    campaigns = []
    for campaign in runtime.campaigns.all():
        if campaign.status == CampaignStatus.CANCELLED:
            continue
        report = campaign_report(runtime, campaign.name, moment)
        steps = step_lines(report)
        campaigns.append(
            CampaignView(report, campaign.daily_limit, steps, totals(steps), funnel_of(report))
        )
    ended = [line for line in campaign_lines(runtime) if line["status"] == "cancelled"]
    accounts = _account_views(runtime, moment)
    paused = [
        PausedAccount(
            a.summary.account,
            a.summary.pause_reason or "",
            a.summary.paused_until,
            f"outreach accounts resume {a.summary.account}",
        )
        for a in accounts
        if needs_resume(a.summary)
    ]
    unknown = [
        UnknownDelivery(row, f"outreach deliveries retry {row.id}")
        for row in runtime.store.newest(status=Status.UNKNOWN.value, limit=UNKNOWN_SHOWN)
    ]
    hourly = queries.sends_per_hour(runtime.engine, charts.first_hour(moment))
    names = [*runtime.accounts, *sorted(set(hourly) - set(runtime.accounts))]
    return Snapshot(
        generated_at=moment,
        campaigns=campaigns,
        ended=ended,
        accounts=accounts,
        paused=paused,
        unknown=unknown,
        unknown_total=sum(a.summary.unknown for a in accounts),
        replies=queries.newest_replies(runtime.engine, REPLIES_SHOWN),
        hourly=charts.hourly_chart(hourly, names, moment),
    )
