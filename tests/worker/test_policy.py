"""The pipeline's decisions as tables: pure functions of an outcome, a delivery and `now`."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta

import pytest

from tests.fakes import FIXED_NOW
from worker.models import Delivery, Status
from worker.policy import (
    Breaker,
    Decision,
    Policy,
    backoff_s,
    decide_check,
    decide_send,
    draw_gap,
)
from worker.providers.outcomes import (
    Accepted,
    Pending,
    RateLimited,
    Rejected,
    SendOutcome,
    Sent,
    TaskOutcome,
    Transient,
    Unknown,
)

POLICY = Policy(
    max_attempts=3, max_rate_limits=2, rate_limit_pause_s=300, check_first_s=5, breaker_failures=3
)
DUE = FIXED_NOW - timedelta(minutes=10)
LATER = FIXED_NOW + timedelta(minutes=30)


def _delivery(**fields: object) -> Delivery:
    values: dict[str, object] = {
        "idempotency_key": "k", "account": "alice", "provider": "linkup", "recipient": "jane",
        "text": "Hi", "status": Status.SENDING, "attempts": 1, "created_at": DUE, "due_at": DUE,
        "updated_at": DUE, "claimed_at": FIXED_NOW,
    }  # fmt: skip
    values.update(fields)
    return Delivery(**values)


def _send(outcome: SendOutcome, breaker: Breaker | None = None, **fields: object) -> Decision:
    return decide_send(
        outcome, _delivery(**fields), POLICY, FIXED_NOW, random.Random(1), breaker=breaker
    )


def test_sent_records_the_provider_ids() -> None:
    d = _send(Sent(message_urn="m", conversation_urn="c", thread_id="t", recipient_urn="r"))
    assert d.status == Status.SENT
    assert d.changes == {
        "sent_at": FIXED_NOW,
        "error": None,
        "message_urn": "m",
        "thread_id": "t",
        "recipient_urn": "r",
        "conversation_id": "c",
    }
    assert (d.requeue_at, d.pause_until, d.check_at) == (None, None, None)


def test_accepted_waits_for_the_task() -> None:
    d = _send(Accepted("task-1"))
    assert d.status == Status.CONFIRMING
    assert d.check_at == FIXED_NOW + timedelta(seconds=5)
    assert d.changes["confirm_by"] == FIXED_NOW + timedelta(hours=24)


def test_a_rate_limit_pauses_the_account_until_the_provider_says() -> None:
    d = _send(RateLimited("slow down", retry_at=LATER))
    assert (d.status, d.pause_until, d.requeue_at) == (Status.QUEUED, LATER, DUE)
    assert d.changes["rate_limits"] == 1


def test_a_rate_limit_without_a_time_backs_off_from_the_configured_pause() -> None:
    first = _send(RateLimited("slow down"))
    second = _send(RateLimited("slow down"), rate_limits=1)
    assert first.pause_until is not None and second.pause_until is not None
    assert 300 <= (first.pause_until - FIXED_NOW).total_seconds() <= 375
    assert 600 <= (second.pause_until - FIXED_NOW).total_seconds() <= 750


def test_too_many_rate_limits_fail_the_delivery() -> None:
    d = _send(RateLimited("slow down"), rate_limits=2)
    assert d.status == Status.FAILED
    assert d.changes["error"].startswith("rate_limited")


def test_an_account_level_rejection_keeps_the_message_and_stops_the_account() -> None:
    d = _send(Rejected("Invalid API key", account_level=True))
    assert (d.status, d.requeue_at, d.pause_forever) == (Status.QUEUED, DUE, True)


def test_a_rejection_fails_the_delivery_with_the_reason() -> None:
    d = _send(Rejected("not a connection"))
    assert (d.status, d.changes["error"]) == (Status.FAILED, "not a connection")


def test_a_transient_failure_retries_later_then_gives_up() -> None:
    retry = _send(Transient("refused"), attempts=1)
    assert retry.status == Status.QUEUED
    assert retry.requeue_at is not None and retry.requeue_at > FIXED_NOW
    assert retry.changes["due_at"] == retry.requeue_at
    assert _send(Transient("refused"), attempts=3).status == Status.FAILED


def test_unknown_is_never_retried() -> None:
    d = _send(Unknown("read timeout"))
    assert (d.status, d.requeue_at) == (Status.UNKNOWN, None)


UNRECOGNISED = Rejected("E7731", recognised=False)


@pytest.mark.parametrize(
    ("outcome", "step"),
    [
        (Sent(), "reset"),
        (Accepted("t"), "reset"),
        (RateLimited("slow down"), "reset"),
        (Rejected("Invalid profile URL format"), "reset"),
        (Rejected("Invalid API Key", account_level=True), "reset"),
        (UNRECOGNISED, "count"),
        (Transient("refused"), "count"),
        (Unknown("504"), "count"),
    ],
)
def test_the_breaker_counts_only_what_no_documentation_explains(
    outcome: SendOutcome, step: str
) -> None:
    assert _send(outcome, Breaker(failures=1)).breaker == step


def test_unrecognised_errors_fail_their_message_until_the_breaker_trips() -> None:
    d = _send(UNRECOGNISED, Breaker(failures=1))
    assert (d.status, d.pause_until, d.breaker) == (Status.FAILED, None, "count")


def test_the_breaker_trips_on_the_nth_keeping_that_message_at_the_head() -> None:
    d = _send(UNRECOGNISED, Breaker(failures=2))
    assert (d.status, d.breaker, d.requeue_at) == (Status.QUEUED, "trip", DUE)
    assert d.pause_until is not None and 300 <= (d.pause_until - FIXED_NOW).total_seconds() <= 375
    assert not d.pause_forever
    assert d.pause_reason.startswith("breaker: 3 sends in a row") and "E7731" in d.pause_reason


def test_a_tripped_breaker_trips_again_at_once_with_a_doubled_pause() -> None:
    d = _send(Transient("refused"), Breaker(failures=3, trips=1))
    assert (d.status, d.breaker, d.requeue_at) == (Status.QUEUED, "trip", DUE)
    assert d.pause_until is not None and 600 <= (d.pause_until - FIXED_NOW).total_seconds() <= 750


def test_an_unknown_that_trips_the_breaker_stays_unknown() -> None:
    d = _send(Unknown("504 Gateway Time-out"), Breaker(failures=2))
    assert (d.status, d.breaker, d.requeue_at) == (Status.UNKNOWN, "trip", None)
    assert d.pause_until is not None


CONFIRMING = {"status": Status.CONFIRMING, "task_id": "t", "confirm_by": LATER}


@pytest.mark.parametrize(
    ("outcome", "status", "checks_again"),
    [
        (Sent(), Status.SENT, False),
        (Pending("pending"), Status.CONFIRMING, True),
        (Transient("503"), Status.CONFIRMING, True),
        (RateLimited("slow"), Status.CONFIRMING, True),
        (Rejected("not a connection"), Status.FAILED, False),
        (Unknown("task vanished"), Status.UNKNOWN, False),
    ],
)
def test_task_checks(outcome: TaskOutcome, status: Status, checks_again: bool) -> None:
    d = decide_check(outcome, _delivery(**CONFIRMING), POLICY, FIXED_NOW)
    assert d.status == status
    assert (d.check_at is not None) == checks_again


def test_a_task_unconfirmed_by_its_deadline_ends_unknown_with_its_last_status() -> None:
    late = _delivery(**{**CONFIRMING, "confirm_by": FIXED_NOW})
    d = decide_check(Pending("in_review"), late, POLICY, FIXED_NOW)
    assert d.status == Status.UNKNOWN
    assert "last answer: status 'in_review'" in d.changes["error"]


def test_an_account_problem_during_a_check_pauses_the_account_but_keeps_waiting() -> None:
    d = decide_check(
        Rejected("Invalid API Key", account_level=True), _delivery(**CONFIRMING), POLICY, FIXED_NOW
    )
    assert (d.status, d.pause_forever) == (Status.CONFIRMING, True)


@pytest.mark.parametrize(("waited_s", "next_s"), [(0, 5), (10, 5), (100, 25), (10_000, 300)])
def test_checks_back_off_for_long_pending_tasks(waited_s: float, next_s: float) -> None:
    d = _delivery(**{**CONFIRMING, "claimed_at": FIXED_NOW - timedelta(seconds=waited_s)})
    check = decide_check(Pending("pending"), d, POLICY, FIXED_NOW)
    assert check.check_at == FIXED_NOW + timedelta(seconds=next_s)


@pytest.mark.parametrize(
    ("n", "low", "high"), [(1, 30, 37.5), (2, 60, 75), (3, 120, 150), (20, 1800, 1800)]
)
def test_backoff_doubles_with_jitter_up_to_its_cap(n: int, low: float, high: float) -> None:
    for seed in range(50):
        assert low <= backoff_s(n, 30, 1800, random.Random(seed)) <= high


def test_gaps_stay_in_the_window_and_average_its_middle_over_a_short_run() -> None:
    rng, bag, gaps = random.Random(7), "", []
    for _ in range(8):
        gap, bag = draw_gap(30, 60, bag, rng)
        gaps.append(gap)
    assert all(30 <= g <= 60 for g in gaps)
    # Two full cycles: one gap from each quarter of the window, twice.
    assert sorted(int((g - 30) // 7.5) for g in gaps) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert abs(statistics.mean(gaps) - 45) < 3.75


def test_a_message_held_by_the_breaker_fails_once_tried_max_attempts_times() -> None:
    # It cannot block its account for ever: the next one takes its place.
    d = _send(UNRECOGNISED, Breaker(failures=3, trips=2), attempts=3)
    assert (d.status, d.breaker, d.requeue_at) == (Status.FAILED, "trip", None)
    assert d.pause_until is not None


def test_a_transient_at_its_last_attempt_fails_even_when_it_trips_the_breaker() -> None:
    d = _send(Transient("Network or permission errors"), Breaker(failures=2), attempts=3)
    assert (d.status, d.breaker) == (Status.FAILED, "trip")
