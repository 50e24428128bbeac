"""Operator actions, the sweeper and recovery, against real Redis and the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.campaigns import start_campaign
from scheduler.operations import account_summaries, retry_delivery
from scheduler.producer import enqueue_message
from scheduler.pump import MAX_WAITING_TASKS, Pump
from scheduler.recovery import recover, reindex_lost
from scheduler.steering import pause_campaign
from worker import keys
from worker.celery_app import QUEUE
from worker.errors import OutreachError
from worker.models import Status
from worker.runtime import Runtime
from worker.sequences import Sequences

JANE = "https://www.linkedin.com/in/jane-doe"


def _released(runtime: Runtime, text: str = "Hi") -> int:
    enqueue_message(runtime, account="ann", to=JANE, text=text)
    [release] = runtime.due_index.release(time.time())
    return release.delivery_id


def test_a_claimed_delivery_cannot_be_claimed_again(runtime: Runtime) -> None:
    delivery_id = _released(runtime)
    assert runtime.store.claim(delivery_id, datetime.now(UTC)) is not None
    assert runtime.store.claim(delivery_id, datetime.now(UTC)) is None


def test_the_sweeper_marks_a_send_without_outcome_unknown(runtime: Runtime) -> None:
    delivery_id = _released(runtime)
    runtime.store.claim(delivery_id, datetime.now(UTC))  # ...and the worker dies

    Pump(runtime, publish=lambda *_: None).sweep(time.time() + 31)

    row = runtime.store.get(delivery_id)
    assert row is not None and row.status == Status.UNKNOWN
    assert row.error is not None and "no outcome" in row.error
    assert runtime.due_index.state("ann").inflight is None


def test_the_sweeper_requeues_a_release_whose_task_was_lost(runtime: Runtime) -> None:
    delivery_id = _released(runtime)  # released, but no worker ever claims it

    Pump(runtime, publish=lambda *_: None).sweep(time.time() + 31)

    assert runtime.store.get(delivery_id).status == Status.QUEUED  # type: ignore[union-attr]
    assert runtime.due_index.state("ann").queued == 1


def test_the_pump_releases_only_as_far_as_the_celery_queue_has_room(runtime: Runtime) -> None:
    for i in range(5):
        enqueue_message(runtime, account=("ann", "dan")[i % 2], to=f"{JANE}-{i}", text=f"m{i}")
    published: list[int] = []
    pump = Pump(runtime, publish=lambda _task, delivery_id: published.append(delivery_id))
    runtime.redis.rpush(QUEUE, *["waiting"] * MAX_WAITING_TASKS)  # workers are far behind

    assert pump.tick(time.time()) == -1
    assert published == []

    runtime.redis.ltrim(QUEUE, 0, MAX_WAITING_TASKS - 2)  # room for one
    assert pump.tick(time.time()) == 1
    assert len(published) == 1
    runtime.redis.delete(QUEUE)


def test_only_unknown_or_failed_deliveries_can_be_retried(runtime: Runtime) -> None:
    delivery_id = _released(runtime)
    with pytest.raises(OutreachError, match="only unknown or failed"):
        retry_delivery(runtime, delivery_id)
    runtime.store.move(delivery_id, [Status.QUEUED], {"status": Status.UNKNOWN})

    row = retry_delivery(runtime, delivery_id).delivery

    assert row.status == Status.QUEUED
    assert row.error is not None and "retried by an operator" in row.error
    assert runtime.due_index.state("ann").queued == 1


@pytest.mark.parametrize("with_followups", [False, True])
def test_retrying_a_failed_step_revives_its_follow_ups_only_when_asked(
    runtime: Runtime, tmp_path: Path, with_followups: bool
) -> None:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        'name = "two"\naccounts = ["ann"]\n[[steps]]\ntext = "Hello"\n'
        '[[steps]]\nafter = "1d"\ntext = "Again"\n'
    )
    leads = tmp_path / "leads.csv"
    leads.write_text("linkedin_url\nhttps://www.linkedin.com/in/two-lead\n")
    start_campaign(runtime, campaign, leads)
    [first, follow_up] = sorted(runtime.store.find(campaign="two"), key=lambda d: d.step)
    assert first.id is not None and follow_up.id is not None
    runtime.store.move(first.id, [Status.QUEUED], {"status": Status.FAILED})
    Sequences(runtime).after(first, Status.FAILED, datetime.now(UTC))
    assert runtime.store.get(follow_up.id).status == Status.CANCELLED  # type: ignore[union-attr]

    retried = retry_delivery(runtime, first.id, with_followups=with_followups)

    assert retried.delivery.status == Status.QUEUED
    assert retried.reopened == int(with_followups)
    after = runtime.store.get(follow_up.id)
    assert after is not None
    assert after.status == (Status.WAITING if with_followups else Status.CANCELLED)


def test_recover_rebuilds_queues_and_keeps_the_pacing_gap(runtime: Runtime) -> None:
    ids = [
        enqueue_message(runtime, account="ann", to=JANE, text=f"Hi {i}").delivery_id
        for i in range(3)
    ]
    check = enqueue_message(
        runtime, account="eve", to="urn:li:person:ACoAAxyz0000000000000000", text="Hi"
    ).delivery_id
    now = datetime.now(UTC)
    runtime.store.move(
        check, [Status.QUEUED], {"status": Status.CONFIRMING, "poll_at": now, "task_id": "t"}
    )
    runtime.redis.flushdb()

    result = recover(runtime)

    assert (result.queued, result.checks) == (3, 1)
    assert [r.delivery_id for r in runtime.due_index.release(time.time())] == [ids[0]]
    assert runtime.due_index.lease_checks(time.time(), 10, 60) == [check]


def test_account_summaries_show_queues_and_pauses(runtime: Runtime) -> None:
    enqueue_message(runtime, account="ann", to=JANE, text="Hi")
    runtime.due_index.pause("dan", None, "provider refused the account: Unauthorized")

    summaries = {s.account: s for s in account_summaries(runtime)}

    assert summaries["ann"].queued == 1 and summaries["ann"].next_send_at is not None
    assert summaries["dan"].paused_forever
    assert summaries["dan"].pause_reason == "provider refused the account: Unauthorized"
    assert summaries["eve"].queued == 0


def test_the_pump_carries_on_after_a_failing_step(runtime: Runtime) -> None:
    published: list[int] = []

    def publish(task: str, delivery_id: int) -> None:
        published.append(delivery_id)
        if len(published) == 1:
            raise ConnectionError("broker away")

    first = enqueue_message(runtime, account="ann", to=JANE, text="Hi").delivery_id
    stop = threading.Event()
    pump = threading.Thread(target=Pump(runtime, publish).run, args=(stop,))
    pump.start()
    try:
        _wait_until(lambda: published == [first])
        second = enqueue_message(runtime, account="dan", to="sam-example", text="Hi").delivery_id
        _wait_until(lambda: published == [first, second])
    finally:
        stop.set()
        pump.join(timeout=10)
    assert not pump.is_alive()


def _wait_until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_repair_indexes_queued_deliveries_redis_lost_and_only_those(
    runtime: Runtime, tmp_path: Path
) -> None:
    lost = enqueue_message(runtime, account="ann", to=JANE, text="Lost").delivery_id
    runtime.redis.zrem(keys.queue("ann"), str(lost))  # its process died before indexing it
    in_flight = enqueue_message(runtime, account="dan", to="sam-example", text="Hi").delivery_id
    [release] = runtime.due_index.release(time.time())  # dan's: released, not yet claimed
    assert release.delivery_id == in_flight
    enqueue_message(runtime, account="eve", to="urn:li:person:ACoAAEve000000000000001", text="Hi")
    paused = _paused_campaign_delivery(runtime, tmp_path)
    runtime.redis.zrem(keys.queue("ann"), str(paused))  # pausing took it out of Redis

    assert reindex_lost(runtime, updated_since=datetime.now(UTC) + timedelta(hours=1)) == 0
    Pump(runtime, publish=lambda *_: None).repair(time.time())

    assert runtime.redis.zscore(keys.queue("ann"), str(lost)) is not None
    assert runtime.redis.zscore(keys.queue("ann"), str(paused)) is None
    assert runtime.due_index.state("dan").queued == 0  # not released a second time
    assert runtime.due_index.state("eve").queued == 1
    assert reindex_lost(runtime) == 0  # nothing left to repair


def _paused_campaign_delivery(runtime: Runtime, tmp_path: Path) -> int:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text('name = "held"\naccounts = ["ann"]\n[[steps]]\ntext = "Hello"\n')
    leads = tmp_path / "leads.csv"
    leads.write_text("linkedin_url\nhttps://www.linkedin.com/in/held-lead\n")
    start_campaign(runtime, campaign, leads)
    pause_campaign(runtime, "held")
    (row,) = runtime.store.find(campaign="held")
    assert row.id is not None
    return row.id
