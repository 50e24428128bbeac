"""What happens next, as pure functions: pacing gaps, backoff, and what each provider outcome
does to a delivery and its account. No I/O, `now` and the random source passed in."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from worker.models import Delivery, Status
from worker.providers.outcomes import (
    Accepted,
    FetchOutcome,
    Pending,
    ProfileOutcome,
    RateLimited,
    Rejected,
    Resolved,
    SendOutcome,
    Sent,
    TaskOutcome,
    Transient,
    Unknown,
)

UNRESOLVED = "profile could not be resolved"  # how a failed profile fetch words its error


@dataclass(frozen=True)
class Policy:
    pace_min_s: float = 30.0
    pace_max_s: float = 60.0
    retry_base_s: float = 30.0
    retry_max_s: float = 1800.0
    max_attempts: int = 5  # sends that failed before reaching the provider, per delivery
    rate_limit_pause_s: float = 300.0
    rate_limit_pause_max_s: float = 4 * 3600.0
    max_rate_limits: int = 5
    check_first_s: float = 5.0
    check_max_s: float = 300.0
    confirm_within_s: float = 24 * 3600.0
    breaker_failures: int = 3  # sends in a row ending in unrecognised errors, then a pause


@dataclass(frozen=True)
class Breaker:
    """An account's run of sends that ended in errors no documentation explains."""

    failures: int = 0  # in a row, before this send
    trips: int = 0  # pauses the run has caused; each doubles the last


BreakerStep = Literal["", "reset", "count", "trip"]


@dataclass(frozen=True)
class Decision:
    """A delivery's next state and what Redis must do about it."""

    event: str  # the log event: delivery_sent, delivery_retry_scheduled…
    status: Status
    changes: dict[str, Any] = field(default_factory=dict)
    requeue_at: datetime | None = None  # back into the account's queue, due then
    check_at: datetime | None = None  # check the OutX task then
    pause_until: datetime | None = None
    pause_forever: bool = False  # until an operator resumes the account
    pause_reason: str = ""
    breaker: BreakerStep = ""  # what the send does to its account's breaker


GAP_STRATA = 4


def draw_gap(min_s: float, max_s: float, bag: str, rng: random.Random) -> tuple[float, str]:
    """The wait before an account's next send, and the account's new bag.

    Each gap is uniform in [min_s, max_s]; they are stratified: every cycle of four takes one
    from each quarter of the window, in random order, so an account's average pace matches the
    window's middle even over a short run. `bag` holds the quarters left in this cycle.
    """
    if not bag:
        quarters = [str(i) for i in range(GAP_STRATA)]
        rng.shuffle(quarters)
        bag = "".join(quarters)
    quarter, rest = int(bag[0]), bag[1:]
    fraction = (quarter + rng.random()) / GAP_STRATA
    return min_s + fraction * (max_s - min_s), rest


def backoff_s(n: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential backoff for the n-th consecutive failure (n >= 1), jittered upward by up to
    25 % so accounts that failed together do not come back together, never above `cap_s`."""
    delay = base_s * float(2 ** (max(n, 1) - 1))
    return min(cap_s, delay * rng.uniform(1.0, 1.25))


def counts_toward_breaker(outcome: SendOutcome) -> bool:
    """An answer that says nothing we recognise about the recipient or the message: a new
    wording of a limit, an outage, a gateway. A run of them pauses the account."""
    if isinstance(outcome, Rejected):
        return not outcome.recognised and not outcome.account_level
    return isinstance(outcome, Transient | Unknown)


def decide_send(
    outcome: SendOutcome,
    delivery: Delivery,
    policy: Policy,
    now: datetime,
    rng: random.Random,
    *,
    breaker: Breaker | None = None,
) -> Decision:
    """What a send's outcome does; `delivery` is as claimed (attempts counts this one), and
    `breaker` is its account's run of unrecognised errors before this send."""
    decision = _decide_outcome(outcome, delivery, policy, now, rng)
    return _with_breaker(
        decision, outcome, delivery=delivery, policy=policy, now=now, rng=rng, breaker=breaker
    )


def decide_fetch(
    outcome: FetchOutcome,
    delivery: Delivery,
    policy: Policy,
    now: datetime,
    rng: random.Random,
    *,
    breaker: Breaker | None = None,
) -> Decision:
    """What starting a profile fetch (made in place of a send, paced like one) does: its task
    is checked as a send's is (`confirming`, `task_id`); a documented refusal of the profile
    fails the delivery; a rate limit, a refused account or a transient failure as for a send."""
    match outcome:
        case Accepted(task_id=task_id):
            check_at = now + timedelta(seconds=policy.check_first_s)
            decision = Decision(
                "profile_fetch_started",
                Status.CONFIRMING,
                {
                    "task_id": task_id,
                    "poll_at": check_at,
                    "confirm_by": now + timedelta(seconds=policy.confirm_within_s),
                    "error": None,
                },
                check_at=check_at,
            )
        case Rejected(reason=reason, account_level=False):
            decision = Decision("delivery_failed", Status.FAILED, {"error": unresolved(reason)})
        case _:
            decision = _decide_outcome(outcome, delivery, policy, now, rng)
    return _with_breaker(
        decision, outcome, delivery=delivery, policy=policy, now=now, rng=rng, breaker=breaker
    )


def unresolved(reason: str) -> str:
    """A delivery's error when its recipient's profile could not be resolved."""
    return f"{UNRESOLVED}: {reason}"


def _with_breaker(
    decision: Decision,
    outcome: SendOutcome,
    *,
    delivery: Delivery,
    policy: Policy,
    now: datetime,
    rng: random.Random,
    breaker: Breaker | None,
) -> Decision:
    """`decision` with what the outcome does to its account's breaker."""
    if not counts_toward_breaker(outcome):
        return replace(decision, breaker="reset")
    run = breaker or Breaker()
    if run.failures + 1 < policy.breaker_failures:
        return replace(decision, breaker="count")
    pause_s = backoff_s(
        run.trips + 1, policy.rate_limit_pause_s, policy.rate_limit_pause_max_s, rng
    )
    return _trip(decision, delivery, policy, now + timedelta(seconds=pause_s), run)


def _trip(
    decision: Decision, delivery: Delivery, policy: Policy, until: datetime, run: Breaker
) -> Decision:
    """Pause the account; a message that cannot have been sent keeps its place at the head,
    until it has been tried `max_attempts` times."""
    error = decision.changes.get("error")
    reason = (
        f"breaker: {run.failures + 1} sends in a row ended in errors outreach does not"
        f" recognise; last: {error}"
    )
    tripped = replace(
        decision,
        breaker="trip",
        pause_until=until,
        pause_reason=reason,
    )
    if decision.status == Status.UNKNOWN:
        return tripped  # it may have been sent: never back in the queue
    if delivery.attempts - delivery.rate_limits >= policy.max_attempts:
        return tripped  # held often enough: it fails, so it cannot block its account for ever
    return replace(
        tripped,
        event="delivery_held_by_breaker",
        status=Status.QUEUED,
        changes={"error": error},
        requeue_at=delivery.due_at,
    )


def _decide_outcome(
    outcome: SendOutcome, delivery: Delivery, policy: Policy, now: datetime, rng: random.Random
) -> Decision:
    match outcome:
        case Sent():
            return Decision("delivery_sent", Status.SENT, _sent_fields(outcome, now))
        case Accepted(task_id=task_id):
            check_at = now + timedelta(seconds=policy.check_first_s)
            return Decision(
                "delivery_accepted",
                Status.CONFIRMING,
                {
                    "task_id": task_id,
                    "poll_at": check_at,
                    "confirm_by": now + timedelta(seconds=policy.confirm_within_s),
                },
                check_at=check_at,
            )
        case RateLimited(reason=reason, retry_at=retry_at):
            count = delivery.rate_limits + 1
            if count > policy.max_rate_limits:
                return Decision(
                    "delivery_failed",
                    Status.FAILED,
                    {"rate_limits": count, "error": f"rate_limited: {reason}"},
                )
            pause = policy.rate_limit_pause_s
            until = retry_at or now + timedelta(
                seconds=backoff_s(count, pause, policy.rate_limit_pause_max_s, rng)
            )
            # Keeps its due time, so it stays at the head of its account's queue.
            return Decision(
                "delivery_rate_limited",
                Status.QUEUED,
                {"rate_limits": count, "error": f"rate_limited: {reason}"},
                requeue_at=delivery.due_at,
                pause_until=max(until, now),
                pause_reason=f"rate limited: {reason}",
            )
        case Rejected(reason=reason, account_level=True):
            # The account, not the message, is at fault: keep the message, stop the account.
            return Decision(
                "account_rejected",
                Status.QUEUED,
                {"error": reason},
                requeue_at=delivery.due_at,
                pause_forever=True,
                pause_reason=f"provider refused the account: {reason}",
            )
        case Rejected(reason=reason):
            return Decision("delivery_failed", Status.FAILED, {"error": reason})
        case Transient(reason=reason):
            failures = delivery.attempts - delivery.rate_limits
            if failures >= policy.max_attempts:
                return Decision(
                    "delivery_failed",
                    Status.FAILED,
                    {"error": f"gave up after {failures} attempts: {reason}"},
                )
            due = now + timedelta(
                seconds=backoff_s(failures, policy.retry_base_s, policy.retry_max_s, rng)
            )
            return Decision(
                "delivery_retry_scheduled",
                Status.QUEUED,
                {"error": reason, "due_at": due},
                requeue_at=due,
            )
        case Unknown(reason=reason):
            return Decision("delivery_unknown", Status.UNKNOWN, {"error": reason})


def decide_check(
    outcome: TaskOutcome, delivery: Delivery, policy: Policy, now: datetime
) -> Decision:
    """What an OutX status check's outcome does to a `confirming` delivery."""
    match outcome:
        case Sent():
            return Decision("delivery_sent", Status.SENT, _sent_fields(outcome, now))
        case Rejected(reason=reason, account_level=False):
            return Decision("delivery_failed", Status.FAILED, {"error": reason})
        case Unknown(reason=reason):
            return Decision("delivery_unknown", Status.UNKNOWN, {"error": reason})
    if delivery.confirm_by is not None and now >= delivery.confirm_by:
        last = f"; last answer: {_check_answer(outcome)}"
        return Decision(
            "delivery_unknown",
            Status.UNKNOWN,
            {"error": f"OutX did not confirm the task by its deadline{last}"},
        )
    return _keep_checking(outcome, delivery, policy, now)


def decide_fetch_check(
    outcome: ProfileOutcome, delivery: Delivery, policy: Policy, now: datetime, rng: random.Random
) -> Decision:
    """What a profile fetch's status check does to its `confirming` delivery: the URN sends
    it back to its account's queue (at its place: it was due already) to be sent, a new paced
    release; a fetch that completed without one fails it. Nothing was sent either way, so a
    fetch not completed by the deadline is fetched again, as after a transient failure."""
    match outcome:
        case Resolved(urn=urn):
            return Decision(
                "profile_resolved",
                Status.QUEUED,
                {**_NO_TASK, "recipient_urn": urn, "error": None},
                requeue_at=delivery.due_at,
            )
        case Rejected(reason=reason, account_level=False):
            return Decision("delivery_failed", Status.FAILED, {"error": unresolved(reason)})
        case Unknown(reason=reason):
            return Decision("delivery_unknown", Status.UNKNOWN, {"error": reason})
    if delivery.confirm_by is not None and now >= delivery.confirm_by:
        last = _check_answer(outcome)
        reason = f"OutX did not complete the profile fetch by its deadline; last answer: {last}"
        again = _decide_outcome(Transient(reason), delivery, policy, now, rng)
        return replace(again, changes={**again.changes, **_NO_TASK})
    return _keep_checking(outcome, delivery, policy, now)


_NO_TASK = {"task_id": None, "poll_at": None, "confirm_by": None}


def _keep_checking(
    outcome: TaskOutcome | ProfileOutcome, delivery: Delivery, policy: Policy, now: datetime
) -> Decision:
    """Check the task again later, backing off; an account-level refusal also pauses the
    account (its key is refused) while the task keeps being checked."""
    check_at = now + timedelta(seconds=next_check_s(delivery, policy, now))
    decision = Decision(
        "delivery_check_scheduled", Status.CONFIRMING, {"poll_at": check_at}, check_at=check_at
    )
    if isinstance(outcome, Rejected):  # account-level: keep waiting, but stop new sends
        return Decision(
            decision.event,
            decision.status,
            decision.changes,
            check_at=check_at,
            pause_forever=True,
            pause_reason=f"provider refused the account: {outcome.reason}",
        )
    assert isinstance(outcome, Pending | Transient | RateLimited)
    return decision


def _check_answer(outcome: TaskOutcome | ProfileOutcome) -> str:
    if isinstance(outcome, Pending):
        return f"status {outcome.status!r}"
    return getattr(outcome, "reason", type(outcome).__name__)


def next_check_s(delivery: Delivery, policy: Policy, now: datetime) -> float:
    """Check often at first, then back off: a quarter of the time waited so far, within bounds."""
    started = delivery.claimed_at or now
    waited_s = (now - started).total_seconds()
    return min(policy.check_max_s, max(policy.check_first_s, waited_s / 4))


def _sent_fields(outcome: Sent, now: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {"sent_at": outcome.delivered_at or now, "error": None}
    for name in ("message_urn", "thread_id", "recipient_urn"):
        value = getattr(outcome, name)
        if value is not None:
            fields[name] = value
    if outcome.conversation_urn is not None:
        fields["conversation_id"] = outcome.conversation_urn
    return fields
