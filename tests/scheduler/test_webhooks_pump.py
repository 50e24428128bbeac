"""Outbox events go through the due-time index like everything else: the pump leases what is
due and publishes `outreach.webhook` tasks; a lost task comes back when its lease ends; the
repair pass indexes pending events Redis lost."""

from __future__ import annotations

import time

from scheduler.producer import enqueue_message
from scheduler.pump import Pump
from scheduler.recovery import recover
from tests.fakes import FIXED_NOW
from worker import keys
from worker.celery_app import SEND_TASK, WEBHOOK_TASK
from worker.runtime import Runtime
from worker.webhooks.events import EventType, new_event
from worker.webhooks.store import OutboxRow


def _events(runtime: Runtime, count: int) -> list[int]:
    endpoint_id = runtime.webhooks.add_endpoint(
        "https://hooks.example.com/in", ["delivery.sent"], "S", FIXED_NOW
    )
    rows = []
    for i in range(count):
        event = new_event(EventType.SENT, {"id": i}, FIXED_NOW)
        rows.append(OutboxRow(endpoint_id, event.message_id, event.type, event.payload, FIXED_NOW))
    return runtime.webhooks.write(rows)


def test_a_lease_pushes_the_event_back_until_it_ends(runtime: Runtime) -> None:
    [event_id] = _events(runtime, 1)
    due_index = runtime.due_index
    due_index.schedule_webhook(event_id, 100.0)

    assert due_index.lease_webhooks(100.0, 10, lease_s=30) == [event_id]
    assert due_index.lease_webhooks(129.0, 10, lease_s=30) == []  # leased: a task has it
    assert due_index.lease_webhooks(130.0, 10, lease_s=30) == [event_id]  # that task was lost
    due_index.drop_webhook(event_id)
    assert due_index.lease_webhooks(10**9, 10, lease_s=30) == []


def test_the_pump_publishes_due_webhooks_after_the_sends(runtime: Runtime) -> None:
    delivery_id = enqueue_message(
        runtime, account="ann", to="https://www.linkedin.com/in/jane-doe", text="Hi"
    ).delivery_id
    event_ids = _events(runtime, 2)
    now = time.time()
    runtime.due_index.schedule_webhooks(event_ids, now)
    published: list[tuple[str, int | str]] = []
    pump = Pump(runtime, publish=lambda task, arg: published.append((task, arg)))

    assert pump.tick(now + 1) == 3
    assert published == [
        (SEND_TASK, delivery_id),
        (WEBHOOK_TASK, event_ids[0]),
        (WEBHOOK_TASK, event_ids[1]),
    ]
    assert pump.tick(now + 2) == 0  # leased


def test_the_next_wake_counts_webhooks(runtime: Runtime) -> None:
    [event_id] = _events(runtime, 1)
    runtime.due_index.schedule_webhook(event_id, 1234.0)
    assert runtime.due_index.next_wake() == 1234.0


def test_repair_indexes_pending_events_redis_lost_and_keeps_leases(runtime: Runtime) -> None:
    first, second, third = _events(runtime, 3)
    runtime.webhooks.delivered(third, 204, FIXED_NOW)
    runtime.due_index.schedule_webhook(first, 10**10)  # leased far ahead: left alone

    Pump(runtime, publish=lambda *_: None).repair(time.time())

    scores = dict(runtime.redis.zrange(keys.WEBHOOKS, 0, -1, withscores=True))
    assert scores == {str(first).encode(): 10**10, str(second).encode(): FIXED_NOW.timestamp()}


def test_recover_indexes_every_pending_event(runtime: Runtime) -> None:
    _events(runtime, 2)
    assert recover(runtime).webhooks == 2
    assert runtime.redis.zcard(keys.WEBHOOKS) == 2
