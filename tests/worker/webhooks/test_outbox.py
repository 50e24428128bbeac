"""Events are written with the change they describe, in its transaction, one row per
subscribed endpoint; with no endpoint nothing is written; committed events are indexed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.operations import pause_account
from scheduler.producer import enqueue_message
from tests.fakes import FIXED_NOW
from worker import keys
from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.server import Sandbox
from worker.lifecycle import Lifecycle
from worker.models import ReplyHow, Status
from worker.policy import Decision
from worker.providers.reads import ReadFailed
from worker.recipient_store import NewReply
from worker.reply_check import pause_for_read
from worker.runtime import Runtime
from worker.sending import SendService
from worker.webhooks import store as webhook_store
from worker.webhooks.outbox import Outbox

JANE = "https://www.linkedin.com/in/jane-doe"
ALL = ["delivery.sent", "delivery.failed", "delivery.unknown", "recipient.replied"]


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], sandbox_server: Sandbox) -> Runtime:
    return make_runtime(
        {"ann": "linkup"},
        linkup_base_url=sandbox_server.url,
        webhook_endpoints_cache_seconds=0,
    )


def _released(runtime: Runtime) -> int:
    delivery_id = enqueue_message(runtime, account="ann", to=JANE, text="Hi").delivery_id
    [release] = runtime.due_index.release(time.time())
    assert release.delivery_id == delivery_id
    return delivery_id


def _add(runtime: Runtime, events: list[str]) -> int:
    return runtime.webhooks.add_endpoint("https://hooks.example.com/in", events, "S", FIXED_NOW)


def test_with_no_endpoint_a_send_writes_no_event(runtime: Runtime, sandbox: SandboxClient) -> None:
    SendService(runtime).send(_released(runtime))
    assert runtime.webhooks.all_events() == []
    assert runtime.redis.zcard(keys.WEBHOOKS) == 0


def test_a_send_writes_one_event_per_subscribed_endpoint_with_one_webhook_id(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    first, second = _add(runtime, ALL), _add(runtime, ["delivery.sent"])
    _add(runtime, ["delivery.failed"])  # not told about sends
    delivery_id = _released(runtime)

    SendService(runtime).send(delivery_id)

    events = runtime.webhooks.all_events()
    assert sorted(e.endpoint_id for e in events) == [first, second]
    assert len({e.message_id for e in events}) == 1
    body = json.loads(events[0].payload)
    assert body["type"] == "delivery.sent"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    data = body["data"]
    assert (data["id"], data["account"], data["recipient"], data["status"]) == (
        delivery_id,
        "ann",
        JANE,
        "sent",
    )
    assert data["conversation_id"] and data["sent_at"]
    assert "text" not in data
    for event in events:
        assert event.state == "pending" and event.next_attempt_at is not None
        due = runtime.redis.zscore(keys.WEBHOOKS, str(event.id))
        assert due == event.next_attempt_at.timestamp()


def test_a_failed_send_is_announced_as_failed(runtime: Runtime, sandbox: SandboxClient) -> None:
    _add(runtime, ALL)
    sandbox.add_fault("status", provider="linkup", status=400, error="Invalid profile URL")
    SendService(runtime).send(_released(runtime))
    [event] = runtime.webhooks.all_events()
    body = json.loads(event.payload)
    assert body["type"] == "delivery.failed"
    assert body["data"]["status"] == "failed" and body["data"]["error"]


def test_a_refused_account_is_announced_as_paused_until_resumed(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    _add(runtime, ["account.paused"])
    sandbox.add_fault("status", provider="linkup", status=401, error="Invalid API key")

    SendService(runtime).send(_released(runtime))

    [event] = runtime.webhooks.all_events()
    body = json.loads(event.payload)
    assert body["type"] == "account.paused"
    assert body["data"] == {
        "account": "ann",
        "reason": "provider refused the account: Invalid API key",
        "until": None,
        "cause": "account_refused",
    }


def test_pauses_made_by_a_read_or_an_operator_are_announced(runtime: Runtime) -> None:
    _add(runtime, ["account.paused"])
    limited = ReadFailed("too many requests", 429, pause="rate_limit", retry_at=FIXED_NOW)

    pause_for_read(runtime, "ann", limited, FIXED_NOW)
    pause_account(runtime, "ann", "holiday")

    bodies = [json.loads(event.payload)["data"] for event in runtime.webhooks.all_events()]
    pause_s = runtime.policy.rate_limit_pause_s
    assert bodies == [
        {
            "account": "ann",
            "reason": "read: too many requests",
            "until": (FIXED_NOW + timedelta(seconds=pause_s)).isoformat(),
            "cause": "rate_limited",
        },
        {"account": "ann", "reason": "holiday", "until": None, "cause": "operator"},
    ]
    assert runtime.redis.zcard(keys.WEBHOOKS) == 2


def test_a_settle_whose_move_does_not_happen_writes_no_event(runtime: Runtime) -> None:
    _add(runtime, ALL)
    delivery_id = _released(runtime)
    delivery = runtime.store.get(delivery_id)
    assert delivery is not None
    decision = Decision("delivery_sent", Status.SENT, {"sent_at": FIXED_NOW})

    # The delivery is queued, not confirming: the move finds nothing to move.
    Lifecycle.of(runtime).settle(delivery, Status.CONFIRMING, decision, FIXED_NOW)

    assert runtime.webhooks.all_events() == []


def test_an_event_that_cannot_be_written_undoes_the_change_it_describes(
    runtime: Runtime, sandbox: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(runtime, ALL)
    delivery_id = _released(runtime)
    runtime.store.claim(delivery_id, datetime.now(UTC))
    delivery = runtime.store.get(delivery_id)
    assert delivery is not None

    def broken(*_: object) -> list[int]:
        raise RuntimeError("the outbox insert failed")

    monkeypatch.setattr("worker.store.write_outbox", broken)
    decision = Decision("delivery_sent", Status.SENT, {"sent_at": FIXED_NOW})
    with pytest.raises(RuntimeError):
        Lifecycle.of(runtime).settle(delivery, Status.SENDING, decision, FIXED_NOW)

    assert runtime.store.get(delivery_id).status == Status.SENDING  # type: ignore[union-attr]
    assert runtime.store.attempts_of(delivery_id) == []
    assert runtime.webhooks.all_events() == []


def test_an_endpoint_removed_meanwhile_costs_its_events_not_the_send(
    make_runtime: Callable[..., Runtime], sandbox_server: Sandbox, sandbox: SandboxClient
) -> None:
    # A worker's list of endpoints is seconds old: it still names one just removed.
    runtime = make_runtime(
        {"ann": "linkup"}, linkup_base_url=sandbox_server.url, webhook_endpoints_cache_seconds=60
    )
    gone, kept = _add(runtime, ALL), _add(runtime, ALL)
    assert len(runtime.outbox.endpoints()) == 2  # cached
    runtime.webhooks.remove_endpoint(gone)

    delivery_id = _released(runtime)
    SendService(runtime).send(delivery_id)

    assert runtime.store.get(delivery_id).status == Status.SENT  # type: ignore[union-attr]
    assert [a.kind for a in runtime.store.attempts_of(delivery_id)] == ["send"]
    events = runtime.webhooks.all_events()
    assert [(e.endpoint_id, e.event_type) for e in events] == [(kept, "delivery.sent")]
    assert runtime.redis.zcard(keys.WEBHOOKS) == 1


def _reply(received_at: datetime) -> NewReply:
    return NewReply(
        recipient=JANE,
        received_at=received_at,
        how=ReplyHow.INBOX,
        account="ann",
        campaign="q4",
        step=0,
        conversation="urn:li:conversation:1",
        text="Thanks, not interested",
    )


def test_a_reply_is_announced_once_however_often_it_is_found(runtime: Runtime) -> None:
    _add(runtime, ["recipient.replied"])
    lifecycle = Lifecycle.of(runtime)
    now = datetime.now(UTC)

    lifecycle.stop_replied([_reply(FIXED_NOW)], now)
    lifecycle.stop_replied([_reply(FIXED_NOW), _reply(FIXED_NOW + timedelta(hours=1))], now)

    events = runtime.webhooks.all_events()
    assert len(events) == 2
    bodies = [json.loads(e.payload) for e in events]
    assert {b["type"] for b in bodies} == {"recipient.replied"}
    assert bodies[0]["data"] == {
        "recipient": JANE,
        "account": "ann",
        "campaign": "q4",
        "step": 0,
        "conversation": "urn:li:conversation:1",
        "received_at": FIXED_NOW.isoformat(),
        "how": "inbox",
    }
    assert runtime.redis.zcard(keys.WEBHOOKS) == 2


def test_the_endpoint_list_is_read_once_per_cache_window(runtime: Runtime) -> None:
    reads = []
    store = runtime.webhooks
    clock = iter([0.0, 1.0, 4.9, 5.0]).__next__

    class Counting(webhook_store.WebhookStore):
        def endpoints(self):  # type: ignore[no-untyped-def]
            reads.append(1)
            return store.endpoints()

    outbox = Outbox(Counting(runtime.engine), cache_s=5.0, clock=clock)
    for _ in range(4):
        outbox.endpoints()
    assert len(reads) == 2  # at 0 s and again at 5 s
