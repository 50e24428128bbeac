"""Operator actions behind the CLI: list deliveries, resend an unknown one, resume an account,
summarise accounts. Each returns values; the CLI only formats them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from worker import views
from worker.errors import OutreachError
from worker.lifecycle import Lifecycle
from worker.models import Delivery, ReplyRecord, Status
from worker.runtime import Runtime
from worker.sequences import Sequences

# The public view of a delivery lives beside the records (webhooks carry it too).
DELIVERY_FIELDS = views.DELIVERY_FIELDS
delivery_view = views.delivery_view
RETRYABLE = (Status.UNKNOWN, Status.FAILED)


def reply_view(reply: ReplyRecord) -> dict[str, Any]:
    """A reply as `outreach replies --json` and the API show it (steps counted from 1)."""
    return {
        "recipient": reply.recipient,
        "account": reply.account,
        "campaign": reply.campaign,
        "step": None if reply.step is None else reply.step + 1,
        "received_at": reply.received_at.isoformat(),
        "text": reply.text,
        "how": reply.how,
        "conversation": reply.conversation,
    }


@dataclass(frozen=True)
class Retried:
    delivery: Delivery
    reopened: int  # later steps of its sequence that wait for it again


def retry_delivery(runtime: Runtime, delivery_id: int, *, with_followups: bool = False) -> Retried:
    """Queue an `unknown` or `failed` delivery again, at an operator's explicit say-so;
    `with_followups`: the later steps its ending cancelled wait for it again (else they stay
    cancelled, and the sequence ends with this step)."""
    delivery = runtime.store.get(delivery_id)
    if delivery is None:
        raise OutreachError(f"no delivery {delivery_id}")
    if delivery.status not in RETRYABLE:
        raise OutreachError(
            f"delivery {delivery_id} is {delivery.status.value}; only unknown or failed"
            " deliveries can be retried"
        )
    now = datetime.now(UTC)
    moved = runtime.store.move(
        delivery_id,
        list(RETRYABLE),
        {
            "status": Status.QUEUED,
            "due_at": now,
            "updated_at": now,
            "rate_limits": 0,
            "error": f"retried by an operator (was {delivery.status.value}: {delivery.error})",
        },
    )
    if not moved:
        raise OutreachError(f"delivery {delivery_id} changed meanwhile; look again")
    refreshed = runtime.store.get(delivery_id)
    assert refreshed is not None
    reopened = Sequences(runtime).reopen(delivery, was=delivery.status) if with_followups else 0
    runtime.due_index.index(refreshed)
    return Retried(refreshed, reopened)


@dataclass(frozen=True)
class AccountSummary:
    account: str
    provider: str
    queued: int
    in_progress: int
    sent_today: int
    failed: int
    unknown: int
    next_send_at: datetime | None
    paused_until: datetime | None
    paused_forever: bool
    pause_reason: str | None


def account_summaries(runtime: Runtime) -> list[AccountSummary]:
    now = datetime.now(UTC)
    counts = {c.account: c for c in runtime.reports.account_counts(now)}
    summaries = []
    for name, account in runtime.accounts.items():
        state = runtime.due_index.state(name)
        count = counts.get(name)
        pause = state.pause_at(now.timestamp())
        forever = pause is not None and pause.until is None
        resumes = pause.until.timestamp() if pause and pause.until else None
        next_send = max(filter(None, [state.next_at, state.next_due, resumes]), default=None)
        summaries.append(
            AccountSummary(
                account=name,
                provider=account.provider,
                queued=count.queued if count else 0,
                in_progress=count.in_progress if count else 0,
                sent_today=count.sent_today if count else 0,
                failed=count.failed if count else 0,
                unknown=count.unknown if count else 0,
                next_send_at=_time(next_send) if state.queued and not forever else None,
                paused_until=pause.until if pause else None,
                paused_forever=forever,
                pause_reason=pause.reason if pause else None,
            )
        )
    return summaries


def account_state(summary: AccountSummary, now: datetime) -> tuple[str, str]:
    """The account's state in a word (paused, sending, paced, waiting, idle), and its detail:
    what the live page and `GET /v1/accounts` show."""
    if summary.paused_forever:
        return "paused", f"until resumed: {summary.pause_reason or 'no reason given'}"
    if summary.paused_until is not None:
        return "paused", f"until {summary.paused_until:%H:%M:%S} UTC: {summary.pause_reason}"
    if summary.in_progress:
        return "sending", f"{summary.in_progress} in flight"
    if summary.next_send_at is not None and summary.next_send_at > now:
        return "paced", f"next send {summary.next_send_at:%H:%M:%S} UTC"
    if summary.queued:
        return "waiting", f"{summary.queued} queued (due, or held by a window or cap)"
    return "idle", "nothing queued"


def resume_account(runtime: Runtime, name: str) -> None:
    runtime.accounts[name]  # an unknown name is an error naming the known ones
    runtime.due_index.resume(name, datetime.now(UTC).timestamp())


def pause_account(runtime: Runtime, name: str, reason: str) -> None:
    """Stop `name` sending until it is resumed; a send already under way finishes."""
    runtime.accounts[name]  # an unknown name is an error naming the known ones
    runtime.due_index.pause(name, None, reason)
    Lifecycle.of(runtime).announce_pause(name, reason, None, "operator", datetime.now(UTC))


def _time(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
