"""The Redis pacing scripts, driven with explicit times: no processes, no sleeping."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from importlib.resources import files

import pytest
import redis

from worker import keys
from worker.due_index import DueIndex, Release
from worker.policy import Breaker

T0 = 1_800_000_000.0
WINDOW = (0.2, 0.4)


def _pairs(releases: list[Release]) -> list[tuple[str, int]]:
    return [(r.account, r.delivery_id) for r in releases]


@pytest.fixture
def due_index(redis_url: str) -> Iterator[DueIndex]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield DueIndex(client, random.Random(3))
    client.flushdb()
    client.close()


def test_one_delivery_in_flight_per_account(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0), ("ann", 2, T0), ("ben", 3, T0)])
    assert sorted(_pairs(due_index.release(T0 + 1))) == [("ann", 1), ("ben", 3)]
    assert due_index.release(T0 + 100) == []  # both still in flight


def test_the_next_send_waits_a_drawn_gap_after_the_previous_one_finished(
    due_index: DueIndex,
) -> None:
    due_index.enqueue([("ann", 1, T0), ("ann", 2, T0)])
    due_index.release(T0)
    assert due_index.finish("ann", 1, window_s=WINDOW, now=T0 + 5)
    next_at = due_index.state("ann").next_at
    assert next_at is not None and T0 + 5.2 <= next_at <= T0 + 5.4
    assert due_index.release(next_at - 0.001) == []
    [release] = due_index.release(next_at + 0.05)
    assert (release.account, release.delivery_id) == ("ann", 2)
    assert release.eligible_at == pytest.approx(next_at)  # so it was 0.05 s late


def test_a_delivery_is_not_released_before_it_is_due(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0 + 60)])
    assert due_index.release(T0) == []
    assert _pairs(due_index.release(T0 + 60)) == [("ann", 1)]


def test_a_paused_account_releases_nothing_and_keeps_its_queue(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0), ("ann", 2, T0 + 1)])
    due_index.release(T0)
    # Rate limited: back at the head of the queue, account paused for 300 s.
    assert due_index.finish(
        "ann",
        1,
        window_s=WINDOW,
        now=T0 + 2,
        requeue_at=T0,
        paused_until=T0 + 300,
        pause_reason="rate limited",
    )
    assert due_index.release(T0 + 299) == []
    assert due_index.state("ann").pause_reason == "rate limited"
    assert _pairs(due_index.release(T0 + 300)) == [("ann", 1)]


def test_resuming_an_account_paused_until_resumed(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0)])
    due_index.pause("ann", None, "bad credentials")
    assert due_index.release(T0 + 10**6) == []
    due_index.resume("ann", T0)
    assert _pairs(due_index.release(T0)) == [("ann", 1)]


def test_a_stale_task_cannot_finish_another_delivery(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0)])
    due_index.release(T0)
    assert not due_index.holds("ann", 2)
    assert not due_index.finish("ann", 2, window_s=WINDOW, now=T0)
    assert due_index.holds("ann", 1)


def test_accounts_are_released_in_the_order_they_became_eligible(due_index: DueIndex) -> None:
    due_index.enqueue([("late", 1, T0 + 2), ("early", 2, T0), ("middle", 3, T0 + 1)])
    assert [r.account for r in due_index.release(T0 + 3, limit=2)] == ["early", "middle"]
    assert [r.account for r in due_index.release(T0 + 3, limit=2)] == ["late"]


def test_a_big_backlog_does_not_slow_or_starve_a_small_account(due_index: DueIndex) -> None:
    due_index.enqueue([("big", i, T0) for i in range(1, 5001)] + [("small", 9999, T0 + 0.5)])
    assert sorted(_pairs(due_index.release(T0 + 1))) == [("big", 1), ("small", 9999)]


def test_enqueueing_twice_indexes_once(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0)])
    due_index.enqueue([("ann", 1, T0 + 50)])  # the first due time stays
    assert due_index.redis.zscore(keys.queue("ann"), "1") == T0


def test_sends_in_flight_too_long_are_found(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0 - 5), ("ben", 2, T0)])
    due_index.release(T0)
    due_index.release(T0 + 50)
    assert due_index.stale_inflight(T0 + 10) == [("ann", 1, T0 - 5), ("ben", 2, T0)]
    due_index.finish("ann", 1, window_s=WINDOW, now=T0 + 60)
    assert due_index.stale_inflight(T0 + 10) == [("ben", 2, T0)]


def test_checks_are_leased_not_removed(due_index: DueIndex) -> None:
    due_index.schedule_check(7, T0)
    assert due_index.lease_checks(T0, limit=10, lease_s=60) == [7]
    assert due_index.lease_checks(T0 + 59, limit=10, lease_s=60) == []
    assert due_index.lease_checks(T0 + 60, limit=10, lease_s=60) == [7]  # its worker never answered
    due_index.drop_check(7)
    assert due_index.lease_checks(T0 + 1000, limit=10, lease_s=60) == []


def test_a_held_delivery_can_hold_its_account_until_a_given_time(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0), ("ann", 2, T0)])
    due_index.release(T0)
    assert due_index.finish("ann", 1, window_s=None, now=T0, requeue_at=T0 + 5, not_before=T0 + 5)
    assert due_index.release(T0 + 4.9) == []  # 2 was due, but the account waits
    assert _pairs(due_index.release(T0 + 5)) == [("ann", 2)]


def test_the_next_wake_is_the_earliest_due_time(due_index: DueIndex) -> None:
    assert due_index.next_wake() is None
    due_index.enqueue([("ann", 1, T0 + 9)])
    due_index.schedule_check(2, T0 + 4)
    assert due_index.next_wake() == T0 + 4


def test_a_shorter_pause_never_cuts_an_operators_pause_short(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", 1, T0), ("ann", 2, T0)])
    due_index.release(T0)
    due_index.pause("ann", None, "holiday")  # while a send is in flight
    # That send comes back rate-limited: a 300 s pause must not replace "until resumed".
    due_index.finish(
        "ann", 1, window_s=WINDOW, now=T0 + 1, paused_until=T0 + 300, pause_reason="limited"
    )
    due_index.pause("ann", T0 + 600, "limited again")
    state = due_index.state("ann")
    assert state.pause_reason == "holiday"
    assert state.pause_at(T0 + 10**6) is not None
    assert due_index.release(T0 + 10**6) == []


def test_reads_are_spaced_per_sender_apart_from_sends(due_index: DueIndex) -> None:
    assert due_index.take_read("ann", T0, 5).granted
    slot = due_index.take_read("ann", T0 + 1, 5)
    assert (slot.granted, slot.at, slot.paused) == (False, T0 + 5, False)
    assert due_index.take_read("ben", T0 + 1, 5).granted  # another sender is not held
    due_index.enqueue([("ann", 1, T0)])
    assert _pairs(due_index.release(T0 + 2)) == [("ann", 1)]  # a read does not hold a send
    assert due_index.take_read("ann", T0 + 5, 5).granted


def test_the_next_read_waits_the_gap_from_the_end_of_a_slow_one(due_index: DueIndex) -> None:
    assert due_index.take_read("ann", T0, 5).granted
    due_index.read_done("ann", T0 + 2, 5)  # the request took 2 s
    assert due_index.take_read("ann", T0 + 5, 5).at == T0 + 7
    due_index.read_done("ann", T0 + 1, 5)  # a late report never moves the next read earlier
    assert due_index.take_read("ann", T0 + 6.5, 5).at == T0 + 7
    assert due_index.take_read("ann", T0 + 7, 5).granted


def test_no_read_while_the_account_is_paused(due_index: DueIndex) -> None:
    due_index.pause("ann", T0 + 300, "rate_limit")
    slot = due_index.take_read("ann", T0, 5)
    assert (slot.granted, slot.at, slot.paused) == (False, T0 + 300, True)
    assert due_index.take_read("ann", T0 + 300, 5).granted


def test_the_breaker_counts_trips_and_resets_and_resume_clears_it(due_index: DueIndex) -> None:
    due_index.enqueue([("ann", i, T0) for i in range(1, 6)])
    for i, step in enumerate(["count", "count", "trip", "trip"], start=1):
        due_index.release(T0 + 10 * i)
        due_index.finish("ann", i, window_s=(0, 0), now=T0 + 10 * i, breaker=step)  # type: ignore[arg-type]
    assert due_index.breaker("ann") == Breaker(failures=4, trips=2)
    due_index.resume("ann", T0 + 50)
    assert due_index.breaker("ann") == Breaker()
    due_index.release(T0 + 60)
    due_index.finish("ann", 5, window_s=(0, 0), now=T0 + 60, breaker="count")
    due_index.finish(
        "ann", 5, window_s=(0, 0), now=T0 + 60, breaker="reset"
    )  # not in flight: no-op
    assert due_index.breaker("ann") == Breaker(failures=1, trips=0)


@pytest.mark.parametrize(
    "script", sorted(p.name for p in files("worker.lua").iterdir() if p.name.endswith(".lua"))
)
def test_scripts_touch_only_the_keys_they_are_given(script: str) -> None:
    """Every key a script touches comes in KEYS, built by worker.keys: none is spelt inside."""
    source = files("worker.lua").joinpath(script).read_text(encoding="utf-8")
    code = "\n".join(line.split("--")[0] for line in source.splitlines())
    assert re.findall(r"'[^']*:[^']*'|\"[^\"]*:[^\"]*\"", code) == []
    assert "prefix" not in code
