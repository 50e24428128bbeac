"""The read before a follow-up: has the recipient answered since the previous step went out?

A follow-up goes only on a read that proves there is no answer. A read that proves nothing
(it failed, or its answer cannot tell) holds the follow-up and is tried again, with back-off,
for up to `OUTREACH_REPLY_CHECK_MAX_WAIT_SECONDS`; then the campaign's `on_unreadable` says
whether it goes anyway ("send") or keeps waiting for a read that works ("hold"). Reads are
spaced per sender and never made while the account is paused (`DueIndex.take_read`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from worker.accounts import Account
from worker.lifecycle import Lifecycle
from worker.logs import get_logger
from worker.metrics import READS
from worker.models import Attempt, Campaign, Delivery, ReplyHow, Status
from worker.providers import Capability, build_provider
from worker.providers.reads import (
    Conversation,
    ConversationQuery,
    Located,
    LookFurther,
    ReadFailed,
)
from worker.recipient_store import NewReply
from worker.recipients import parse_recipient
from worker.replies import NoReply, Replied, ReplyVerdict, Undecided, reply_since
from worker.runtime import Runtime

log = get_logger("outreach.reply_check")

RETRY_MAX = timedelta(hours=1)  # the longest wait between two tries of a failing read


@dataclass(frozen=True)
class GoAhead:
    """Send the follow-up."""


@dataclass(frozen=True)
class Stop:
    """The recipient answered: the sequence ends here."""

    reply: NewReply


@dataclass(frozen=True)
class Wait:
    """Try again at `until`; nothing was sent. `note` says why, for the delivery's error.
    `for_read_slot`: the account's read slot is taken until then, so its other follow-ups
    would only wait too; the account's next release waits with this one."""

    until: datetime
    note: str | None = None
    for_read_slot: bool = False


CheckResult = GoAhead | Stop | Wait


class ReplyCheck:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def before_follow_up(
        self, delivery: Delivery, campaign: Campaign, account: Account, now: datetime
    ) -> CheckResult:
        rt = self.runtime
        provider = build_provider(account.provider, rt.http, rt.settings)
        if not provider.can(Capability.READ_CONVERSATION):
            return GoAhead()  # OutX: no documented way to read (the README says so)
        previous = rt.store.previous_step(delivery)
        if previous is None or previous.status != Status.SENT:
            return GoAhead()  # nothing of ours to have answered
        slot = rt.due_index.take_read(account.name, now.timestamp(), rt.settings.read_min_seconds)
        if not slot.granted:
            at = min(slot.at, now.timestamp() + RETRY_MAX.total_seconds())
            return Wait(datetime.fromtimestamp(at, now.tzinfo), for_read_slot=not slot.paused)
        assert delivery.id is not None
        since = min(t for t in (previous.claimed_at, previous.sent_at, now) if t is not None)
        conversation = delivery.conversation or previous.conversation_id
        query = ConversationQuery(
            recipient=parse_recipient(delivery.recipient),
            since=since,
            conversation=conversation,
            recipient_urn=previous.recipient_urn,
            inbox_cursor=None
            if conversation
            else rt.due_index.locate_cursor(account.name, delivery.id),
        )
        started, timer = now, time.perf_counter()
        read = provider.read_conversation(account, query)
        elapsed = time.perf_counter() - timer
        rt.due_index.read_done(account.name, read_ended(now, elapsed), rt.settings.read_min_seconds)
        if query.inbox_cursor is not None or isinstance(read, LookFurther):
            cursor = read.cursor if isinstance(read, LookFurther) else None
            rt.due_index.keep_locate_cursor(account.name, delivery.id, cursor)
        verdict: ReadFailed | Located | LookFurther | ReplyVerdict = (
            reply_since(read, since, previous.text) if isinstance(read, Conversation) else read
        )
        outcome = _outcome_name(verdict)
        READS.labels(account.provider, "conversation", outcome).inc()
        reason = verdict.reason if isinstance(verdict, ReadFailed | Undecided) else None
        rt.store.record(
            Attempt(
                delivery_id=delivery.id,
                account=account.name,
                kind="read",
                started_at=started,
                outcome=outcome,
                http_status=read.http_status if isinstance(read, ReadFailed) else None,
                latency_ms=elapsed * 1000,
                error=reason,
            )
        )
        log.info("reply_checked", outcome=outcome, reason=reason)
        if isinstance(verdict, Located):
            # Its messages take a second read: keep the conversation, read it next slot.
            rt.store.move(delivery.id, [Status.QUEUED], {"conversation": verdict.conversation})
            return Wait(now + timedelta(seconds=rt.settings.read_min_seconds), for_read_slot=True)
        if isinstance(verdict, LookFurther):  # the search goes on from the next page
            return Wait(now + timedelta(seconds=rt.settings.read_min_seconds), for_read_slot=True)
        if isinstance(verdict, Replied):
            conversation = read.conversation if isinstance(read, Conversation) else None
            return Stop(
                NewReply(
                    recipient=delivery.recipient,
                    received_at=verdict.at,
                    how=ReplyHow.FOLLOW_UP_CHECK,
                    account=account.name,
                    campaign=delivery.campaign,
                    step=previous.step,
                    conversation=conversation or query.conversation,
                    text=verdict.text,
                )
            )
        if isinstance(verdict, NoReply):
            return GoAhead()
        if isinstance(read, ReadFailed) and read.pause is not None:
            pause_for_read(self.runtime, account.name, read, now)
        return self._after_failure(delivery, campaign, now, reason or "")

    def _after_failure(
        self, delivery: Delivery, campaign: Campaign, now: datetime, reason: str
    ) -> CheckResult:
        settings = self.runtime.settings
        assert delivery.id is not None
        failures = _failing_reads(self.runtime.store.attempts_of(delivery.id))
        failing_since = failures[0].started_at if failures else now
        waited = now - failing_since
        backoff = timedelta(
            seconds=settings.reply_check_retry_seconds * 2 ** min(len(failures) - 1, 16)
        )
        retry = now + min(backoff, RETRY_MAX)
        if waited < timedelta(seconds=settings.reply_check_max_wait_seconds):
            return Wait(retry, f"reply check failed ({reason}); tried again, not sent blind")
        if campaign.on_unreadable == "send":
            log.warning("reply_check_gave_up", failing_since=failing_since.isoformat())
            return GoAhead()
        note = (
            f"held: the reply check has failed since {failing_since.isoformat(timespec='seconds')}"
            f" ({reason}); on_unreadable = hold"
        )
        return Wait(now + RETRY_MAX, note)


def read_ended(started: datetime, elapsed_s: float) -> float:
    """When a read that began at `started` (the caller's clock) and took `elapsed_s` ended,
    never before the wall clock: `started` was read before the checks that led to the read,
    and the next read's gap must count from when this one truly ended."""
    return max(started.timestamp() + elapsed_s, time.time())


def pause_for_read(runtime: Runtime, account: str, read: ReadFailed, now: datetime) -> None:
    """A read told us the account must stop: pause it, as a send's answer would."""
    until = None  # credentials: until an operator resumes the account
    if read.pause == "rate_limit":
        pause_s = runtime.policy.rate_limit_pause_s
        until = max((read.retry_at or now).timestamp(), now.timestamp() + pause_s)
    runtime.due_index.pause(account, until, f"read: {read.reason}")
    log.warning("account_paused", account=account, reason=read.reason, by="read")
    moment = None if until is None else datetime.fromtimestamp(until, UTC)
    cause = "rate_limited" if read.pause == "rate_limit" else "account_refused"
    Lifecycle.of(runtime).announce_pause(account, f"read: {read.reason}", moment, cause, now)


def _outcome_name(verdict: object) -> str:
    if isinstance(verdict, Replied):
        return "replied"
    if isinstance(verdict, NoReply):
        return "no_reply"
    if isinstance(verdict, Undecided):
        return "undecided"
    if isinstance(verdict, Located):
        return "located"
    if isinstance(verdict, LookFurther):
        return "looking"
    return "failed"


def _failing_reads(attempts: list[Attempt]) -> list[Attempt]:
    """The reads that proved nothing since the last one that did."""
    run: list[Attempt] = []
    for attempt in attempts:
        if attempt.kind != "read":
            continue
        if attempt.outcome in ("failed", "undecided"):
            run.append(attempt)
        else:
            run = []
    return run
