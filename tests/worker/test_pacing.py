"""The Redis pacing scripts, driven with explicit times: no processes, no sleeping."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from importlib.resources import files

import pytest
import redis

from worker import keys
from worker.pacing import Pacer, Release
from worker.policy import Breaker

T0 = 1_800_000_000.0
WINDOW = (0.2, 0.4)


def _pairs(releases: list[Release]) -> list[tuple[str, int]]:
    return [(r.account, r.delivery_id) for r in releases]


@pytest.fixture
def pacer(redis_url: str) -> Iterator[Pacer]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield Pacer(client, random.Random(3))
    client.flushdb()
    client.close()


def test_one_delivery_in_flight_per_account(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0), ("ann", 2, T0), ("ben", 3, T0)])
    assert sorted(_pairs(pacer.release(T0 + 1))) == [("ann", 1), ("ben", 3)]
    assert pacer.release(T0 + 100) == []  # both still in flight


def test_the_next_send_waits_a_drawn_gap_after_the_previous_one_finished(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0), ("ann", 2, T0)])
    pacer.release(T0)
    assert pacer.finish("ann", 1, window_s=WINDOW, now=T0 + 5)
    next_at = pacer.state("ann").next_at
    assert next_at is not None and T0 + 5.2 <= next_at <= T0 + 5.4
    assert pacer.release(next_at - 0.001) == []
    [release] = pacer.release(next_at + 0.05)
    assert (release.account, release.delivery_id) == ("ann", 2)
    assert release.eligible_at == pytest.approx(next_at)  # so it was 0.05 s late


def test_a_delivery_is_not_released_before_it_is_due(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0 + 60)])
    assert pacer.release(T0) == []
    assert _pairs(pacer.release(T0 + 60)) == [("ann", 1)]


def test_a_paused_account_releases_nothing_and_keeps_its_queue(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0), ("ann", 2, T0 + 1)])
    pacer.release(T0)
    # Rate limited: back at the head of the queue, account paused for 300 s.
    assert pacer.finish(
        "ann",
        1,
        window_s=WINDOW,
        now=T0 + 2,
        requeue_at=T0,
        paused_until=T0 + 300,
        pause_reason="rate limited",
    )
    assert pacer.release(T0 + 299) == []
    assert pacer.state("ann").pause_reason == "rate limited"
    assert _pairs(pacer.release(T0 + 300)) == [("ann", 1)]


def test_resuming_an_account_paused_until_resumed(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0)])
    pacer.pause("ann", None, "bad credentials")
    assert pacer.release(T0 + 10**6) == []
    pacer.resume("ann", T0)
    assert _pairs(pacer.release(T0)) == [("ann", 1)]


def test_a_stale_task_cannot_finish_another_delivery(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0)])
    pacer.release(T0)
    assert not pacer.holds("ann", 2)
    assert not pacer.finish("ann", 2, window_s=WINDOW, now=T0)
    assert pacer.holds("ann", 1)


def test_accounts_are_released_in_the_order_they_became_eligible(pacer: Pacer) -> None:
    pacer.enqueue([("late", 1, T0 + 2), ("early", 2, T0), ("middle", 3, T0 + 1)])
    assert [r.account for r in pacer.release(T0 + 3, limit=2)] == ["early", "middle"]
    assert [r.account for r in pacer.release(T0 + 3, limit=2)] == ["late"]


def test_a_big_backlog_does_not_slow_or_starve_a_small_account(pacer: Pacer) -> None:
    pacer.enqueue([("big", i, T0) for i in range(1, 5001)] + [("small", 9999, T0 + 0.5)])
    assert sorted(_pairs(pacer.release(T0 + 1))) == [("big", 1), ("small", 9999)]


def test_enqueueing_twice_indexes_once(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0)])
    pacer.enqueue([("ann", 1, T0 + 50)])  # the first due time stays
    assert pacer.redis.zscore(keys.queue("ann"), "1") == T0


def test_sends_in_flight_too_long_are_found(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0 - 5), ("ben", 2, T0)])
    pacer.release(T0)
    pacer.release(T0 + 50)
    assert pacer.stale_inflight(T0 + 10) == [("ann", 1, T0 - 5), ("ben", 2, T0)]
    pacer.finish("ann", 1, window_s=WINDOW, now=T0 + 60)
    assert pacer.stale_inflight(T0 + 10) == [("ben", 2, T0)]


def test_checks_are_leased_not_removed(pacer: Pacer) -> None:
    pacer.schedule_check(7, T0)
    assert pacer.lease_checks(T0, limit=10, lease_s=60) == [7]
    assert pacer.lease_checks(T0 + 59, limit=10, lease_s=60) == []
    assert pacer.lease_checks(T0 + 60, limit=10, lease_s=60) == [7]  # its worker never answered
    pacer.drop_check(7)
    assert pacer.lease_checks(T0 + 1000, limit=10, lease_s=60) == []


def test_the_next_wake_is_the_earliest_due_time(pacer: Pacer) -> None:
    assert pacer.next_wake() is None
    pacer.enqueue([("ann", 1, T0 + 9)])
    pacer.schedule_check(2, T0 + 4)
    assert pacer.next_wake() == T0 + 4


def test_a_shorter_pause_never_cuts_an_operators_pause_short(pacer: Pacer) -> None:
    pacer.enqueue([("ann", 1, T0), ("ann", 2, T0)])
    pacer.release(T0)
    pacer.pause("ann", None, "holiday")  # while a send is in flight
    # That send comes back rate-limited: a 300 s pause must not replace "until resumed".
    pacer.finish(
        "ann", 1, window_s=WINDOW, now=T0 + 1, paused_until=T0 + 300, pause_reason="limited"
    )
    pacer.pause("ann", T0 + 600, "limited again")
    state = pacer.state("ann")
    assert state.pause_reason == "holiday"
    assert state.pause_at(T0 + 10**6) is not None
    assert pacer.release(T0 + 10**6) == []


def test_the_breaker_counts_trips_and_resets_and_resume_clears_it(pacer: Pacer) -> None:
    pacer.enqueue([("ann", i, T0) for i in range(1, 6)])
    for i, step in enumerate(["count", "count", "trip", "trip"], start=1):
        pacer.release(T0 + 10 * i)
        pacer.finish("ann", i, window_s=(0, 0), now=T0 + 10 * i, breaker=step)  # type: ignore[arg-type]
    assert pacer.breaker("ann") == Breaker(failures=4, trips=2)
    pacer.resume("ann", T0 + 50)
    assert pacer.breaker("ann") == Breaker()
    pacer.release(T0 + 60)
    pacer.finish("ann", 5, window_s=(0, 0), now=T0 + 60, breaker="count")
    pacer.finish("ann", 5, window_s=(0, 0), now=T0 + 60, breaker="reset")  # not in flight: no-op
    assert pacer.breaker("ann") == Breaker(failures=1, trips=0)


@pytest.mark.parametrize(
    "script", sorted(p.name for p in files("worker.lua").iterdir() if p.name.endswith(".lua"))
)
def test_scripts_touch_only_the_keys_they_are_given(script: str) -> None:
    """Every key a script touches comes in KEYS, built by worker.keys: none is spelt inside."""
    source = files("worker.lua").joinpath(script).read_text(encoding="utf-8")
    code = "\n".join(line.split("--")[0] for line in source.splitlines())
    assert re.findall(r"'[^']*:[^']*'|\"[^\"]*:[^\"]*\"", code) == []
    assert "prefix" not in code
