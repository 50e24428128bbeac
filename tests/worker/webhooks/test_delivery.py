"""Delivering an outbox event: signed POST, delivered on a 2xx, else exponential back-off
until the give-up time, then dead. Time is given, never waited for; HTTP is a mock transport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from standardwebhooks import Webhook

from tests.fakes import FIXED_NOW
from tests.webhook_receiver import TEST_SECRET
from worker import keys
from worker.runtime import Runtime
from worker.webhooks.delivery import WebhookSender, retry_at
from worker.webhooks.events import EventType, new_event
from worker.webhooks.store import DEAD, DELIVERED, PENDING, OutboxRow

ENV = {"HOOK_SECRET": TEST_SECRET}


@pytest.mark.parametrize(
    ("attempts", "after_s", "expected_s"),
    [
        (1, 0, 5),  # the first retry waits the first gap
        (2, 5, 15),  # then doubling: 10 s after the attempt at 5 s
        (3, 15, 35),
        (10, 1000, 1000 + 2560),
        (12, 5000, 5000 + 7200),  # 10240 s capped at two hours
        (20, 80000, 86400),  # the last try is at the give-up time, not after it
        (21, 86400, None),  # at the give-up time: dead
        (22, 90000, None),
    ],
)
def test_back_off_doubles_up_to_the_cap_then_gives_up(
    attempts: int, after_s: float, expected_s: float | None
) -> None:
    created = FIXED_NOW
    again = retry_at(
        created,
        attempts,
        created + timedelta(seconds=after_s),
        first_s=5,
        max_gap_s=7200,
        give_up_s=86400,
    )
    expected = None if expected_s is None else created + timedelta(seconds=expected_s)
    assert again == expected


Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(
        {"ann": "linkup"},
        webhook_retry_first_seconds=5,
        webhook_retry_max_seconds=60,
        webhook_give_up_seconds=300,
    )


def _answering(runtime: Runtime, handler: Handler) -> list[httpx.Request]:
    """Route the runtime's webhook POSTs to `handler`; the requests it got."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    runtime.__dict__["webhook_http"] = httpx.Client(transport=httpx.MockTransport(record))
    return seen


def _pending_event(runtime: Runtime, secret_env: str = "HOOK_SECRET") -> int:
    endpoint_id = runtime.webhooks.add_endpoint(
        "https://hooks.example.com/in", ["delivery.sent"], secret_env, FIXED_NOW
    )
    event = new_event(EventType.SENT, {"id": 7}, FIXED_NOW)
    row = OutboxRow(endpoint_id, event.message_id, event.type, event.payload, FIXED_NOW)
    [event_id] = runtime.webhooks.write([row])
    runtime.due_index.schedule_webhook(event_id, FIXED_NOW.timestamp())
    return event_id


def _score(runtime: Runtime, event_id: int) -> float | None:
    return runtime.redis.zscore(keys.WEBHOOKS, str(event_id))


def test_a_2xx_marks_the_event_delivered_and_drops_it_from_the_index(runtime: Runtime) -> None:
    seen = _answering(runtime, lambda _: httpx.Response(204))
    event_id = _pending_event(runtime)

    WebhookSender(runtime, ENV).deliver(event_id, now=FIXED_NOW)

    [request] = seen
    [event] = runtime.webhooks.all_events()
    assert (event.state, event.attempts, event.last_status) == (DELIVERED, 1, 204)
    assert event.delivered_at is not None
    assert _score(runtime, event_id) is None
    headers = dict(request.headers)
    assert headers["webhook-id"] == event.message_id
    assert headers["webhook-timestamp"] == str(int(FIXED_NOW.timestamp()))
    sign = Webhook(TEST_SECRET).sign(event.message_id, FIXED_NOW, request.content.decode())
    assert headers["webhook-signature"] == sign
    assert request.content.decode() == event.payload


def test_a_refusal_is_retried_after_the_first_gap_then_doubling(runtime: Runtime) -> None:
    _answering(runtime, lambda _: httpx.Response(500, text="receiver broke"))
    event_id = _pending_event(runtime)
    sender = WebhookSender(runtime, ENV)

    sender.deliver(event_id, now=FIXED_NOW)
    [event] = runtime.webhooks.all_events()
    assert (event.state, event.attempts, event.last_status) == (PENDING, 1, 500)
    assert event.last_error == "HTTP 500: receiver broke"
    assert event.next_attempt_at == FIXED_NOW + timedelta(seconds=5)
    assert _score(runtime, event_id) == (FIXED_NOW + timedelta(seconds=5)).timestamp()

    sender.deliver(event_id, now=FIXED_NOW + timedelta(seconds=5))
    [event] = runtime.webhooks.all_events()
    assert event.attempts == 2
    assert event.next_attempt_at == FIXED_NOW + timedelta(seconds=15)


def test_an_event_still_refused_at_the_give_up_time_is_dead(runtime: Runtime) -> None:
    _answering(runtime, lambda _: httpx.Response(503))
    event_id = _pending_event(runtime)
    sender = WebhookSender(runtime, ENV)

    sender.deliver(event_id, now=FIXED_NOW + timedelta(seconds=297))
    [event] = runtime.webhooks.all_events()
    assert event.state == PENDING
    assert event.next_attempt_at == FIXED_NOW + timedelta(seconds=300)  # the last try

    sender.deliver(event_id, now=FIXED_NOW + timedelta(seconds=300))
    [event] = runtime.webhooks.all_events()
    assert (event.state, event.attempts, event.next_attempt_at) == (DEAD, 2, None)
    assert _score(runtime, event_id) is None
    [failure] = runtime.webhooks.failures()
    assert failure.event.id == event_id and failure.url == "https://hooks.example.com/in"


def test_a_connection_failure_is_a_refusal_like_any_other(runtime: Runtime) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    _answering(runtime, refuse)
    event_id = _pending_event(runtime)
    WebhookSender(runtime, ENV).deliver(event_id, now=FIXED_NOW)
    [event] = runtime.webhooks.all_events()
    assert (event.state, event.last_status) == (PENDING, None)
    assert event.last_error == "ConnectError: connection refused"


def test_a_missing_secret_variable_fails_the_attempt_naming_it(runtime: Runtime) -> None:
    seen = _answering(runtime, lambda _: httpx.Response(204))
    event_id = _pending_event(runtime, secret_env="UNSET_HOOK_SECRET")

    WebhookSender(runtime, {}).deliver(event_id, now=FIXED_NOW)

    assert seen == []
    [event] = runtime.webhooks.all_events()
    assert event.state == PENDING and event.attempts == 1
    assert "UNSET_HOOK_SECRET is not set" in (event.last_error or "")
    assert _score(runtime, event_id) == (FIXED_NOW + timedelta(seconds=5)).timestamp()


def test_an_event_no_longer_pending_is_not_sent_again(runtime: Runtime) -> None:
    seen = _answering(runtime, lambda _: httpx.Response(200))
    event_id = _pending_event(runtime)
    sender = WebhookSender(runtime, ENV)
    sender.deliver(event_id, now=FIXED_NOW)
    runtime.due_index.schedule_webhook(event_id, FIXED_NOW.timestamp())  # a stale index entry

    assert sender.deliver(event_id, now=FIXED_NOW) is None  # a duplicated task
    assert len(seen) == 1
    assert _score(runtime, event_id) is None


def test_retrying_a_dead_event_gives_it_a_fresh_run_due_now(runtime: Runtime) -> None:
    _answering(runtime, lambda _: httpx.Response(500))
    event_id = _pending_event(runtime)
    WebhookSender(runtime, ENV).deliver(event_id, now=FIXED_NOW + timedelta(seconds=300))
    assert runtime.webhooks.all_events()[0].state == DEAD
    later = FIXED_NOW + timedelta(hours=1)

    assert runtime.webhooks.revive([event_id], later) == [(event_id, later)]

    [event] = runtime.webhooks.all_events()
    assert (event.state, event.attempts, event.next_attempt_at) == (PENDING, 0, later)
    assert runtime.webhooks.revive([event_id], later) == []  # not dead any more
