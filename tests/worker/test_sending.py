"""The send service in-process, over real Redis, the database and HTTP to the sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import structlog
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from scheduler.producer import enqueue_message
from worker import keys
from worker.database_outage import DatabaseOutage
from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.server import Sandbox
from worker.models import Status
from worker.policy import Decision
from worker.runtime import Runtime
from worker.sending import GIVE_BACK_S, SendService

ACCOUNTS = {"ann": "linkup", "eve": "outx"}
JANE = "https://www.linkedin.com/in/jane-doe"


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], sandbox_server: Sandbox) -> Runtime:
    url = sandbox_server.url
    return make_runtime(
        ACCOUNTS,
        linkup_base_url=url,
        outx_base_url=url,
        pace_min_seconds=0.2,
        pace_max_seconds=0.4,
        outx_poll_seconds=0.1,
    )


def _release_one(runtime: Runtime, account: str = "ann", to: str = JANE) -> int:
    delivery_id = enqueue_message(runtime, account=account, to=to, text="Hi").delivery_id
    [release] = runtime.due_index.release(time.time())
    assert release.delivery_id == delivery_id
    return delivery_id


def test_a_send_logs_each_state_change_with_its_context(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    delivery_id = _release_one(runtime)

    with capture_logs(processors=[merge_contextvars]) as logs:
        SendService(runtime).send(delivery_id)

    events = [e for e in logs if e["event"] in ("delivery_sending", "delivery_sent")]
    assert [e["event"] for e in events] == ["delivery_sending", "delivery_sent"]
    for event in events:
        assert (event["delivery_id"], event["account"], event["provider"], event["attempt"]) == (
            delivery_id,
            "ann",
            "linkup",
            1,
        )
    row = runtime.store.get(delivery_id)
    assert row is not None and row.status == Status.SENT and row.conversation_id
    [attempt] = runtime.store.attempts_of(delivery_id)
    assert (attempt.kind, attempt.outcome, attempt.http_status) == ("send", "sent", 200)
    assert len(sandbox.messages()) == 1


def test_a_duplicated_task_sends_nothing(runtime: Runtime, sandbox: SandboxClient) -> None:
    delivery_id = _release_one(runtime)
    service = SendService(runtime)
    service.send(delivery_id)
    service.send(delivery_id)  # Redis redelivered the Celery message
    assert len(sandbox.messages()) == 1


def test_a_claimed_delivery_is_left_alone_by_a_second_worker(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    delivery_id = _release_one(runtime)
    runtime.store.claim(delivery_id, datetime.now(UTC))  # the first worker is mid-send
    with capture_logs() as logs:
        SendService(runtime).send(delivery_id)
    assert sandbox.requests() == []
    assert runtime.store.get(delivery_id).status == Status.SENDING  # type: ignore[union-attr]
    assert not [e for e in logs if e["event"] == "delivery_sending"]


def test_a_task_for_a_delivery_not_in_flight_sends_nothing(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    delivery_id = enqueue_message(runtime, account="ann", to=JANE, text="Hi").delivery_id
    SendService(runtime).send(delivery_id)  # never released: a stale task
    assert sandbox.requests() == []
    assert runtime.store.get(delivery_id).status == Status.QUEUED  # type: ignore[union-attr]


def test_bad_credentials_pause_the_account_and_keep_the_message(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("status", provider="linkup", status=401, error="Invalid API key")
    delivery_id = _release_one(runtime)

    with capture_logs() as logs:
        SendService(runtime).send(delivery_id)

    assert runtime.store.get(delivery_id).status == Status.QUEUED  # type: ignore[union-attr]
    state = runtime.due_index.state("ann")
    assert state.paused_until is not None and state.queued == 1
    assert state.pause_reason == "provider refused the account: Invalid API key"
    assert any(e["event"] == "account_paused" for e in logs)
    assert runtime.due_index.release(time.time() + 10**6) == []


def test_an_outx_send_is_confirmed_by_a_later_check(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    delivery_id = _release_one(runtime, "eve", "urn:li:person:ACoAAeve000000000000000000")
    service = SendService(runtime)

    service.send(delivery_id)
    row = runtime.store.get(delivery_id)
    assert row is not None and row.status == Status.CONFIRMING and row.task_id
    [due] = runtime.due_index.lease_checks(time.time() + 1, 10, 60)
    service.check(due)

    assert runtime.store.get(delivery_id).status == Status.SENT  # type: ignore[union-attr]
    assert [a.kind for a in runtime.store.attempts_of(delivery_id)] == ["send", "check"]


def test_context_bound_for_one_send_does_not_leak_into_the_next_task(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    SendService(runtime).send(_release_one(runtime))
    assert structlog.contextvars.get_contextvars() == {}


def test_a_delivery_cancelled_after_release_frees_its_account(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    delivery_id = _release_one(runtime)
    runtime.store.move(delivery_id, [Status.QUEUED], {"status": Status.CANCELLED})

    SendService(runtime).send(delivery_id)

    assert sandbox.requests() == []
    assert runtime.due_index.state("ann").inflight is None


def test_a_send_over_the_daily_cap_waits_for_tomorrow(
    make_runtime: Callable[..., Runtime], sandbox_server: Sandbox, sandbox: SandboxClient
) -> None:
    url = sandbox_server.url
    runtime = make_runtime(
        ACCOUNTS, linkup_base_url=url, daily_limit=2, pace_min_seconds=0.2, pace_max_seconds=0.4
    )
    service = SendService(runtime)
    ids = [
        enqueue_message(runtime, account="ann", to=f"{JANE}-{i}", text="Hi").delivery_id
        for i in range(3)
    ]
    for _ in ids:
        [release] = runtime.due_index.release(time.time() + 5)
        service.send(release.delivery_id)

    held = runtime.store.get(ids[2])
    assert held is not None and held.status == Status.QUEUED
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert held.due_at == tomorrow
    assert len(sandbox.requests()) == 2
    assert runtime.due_index.release(time.time() + 5) == []
    assert [r.delivery_id for r in runtime.due_index.release(tomorrow.timestamp())] == [ids[2]]


def _outage() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_a_worker_without_its_database_sends_nothing_and_gives_the_delivery_back(
    runtime: Runtime, sandbox: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery_id = _release_one(runtime)

    def away(*_: object, **__: object) -> None:
        raise _outage()

    monkeypatch.setattr(runtime.store, "for_send", away)
    with capture_logs() as logs:
        SendService(runtime).send(delivery_id)

    assert sandbox.messages() == []
    assert [e["account"] for e in logs if e["event"] == "delivery_given_back"] == ["ann"]
    assert runtime.due_index.state("ann").inflight is None  # the account is free
    now = time.time()
    assert runtime.due_index.release(now) == []  # due again a little later, not at once
    [again] = runtime.due_index.release(now + GIVE_BACK_S + 0.5)
    assert again.delivery_id == delivery_id


def test_an_answer_waits_for_the_database_and_keeps_its_account(runtime: Runtime) -> None:
    delivery_id = _release_one(runtime)
    delivery = runtime.store.get(delivery_id)
    assert delivery is not None
    decision = Decision("delivery_sent", Status.SENT, {"message_urn": "urn:li:msg:1"})
    tries: list[float] = []
    slept: list[float] = []

    def write() -> None:
        tries.append(time.time())
        if len(tries) < 3:
            raise _outage()

    released_at = runtime.redis.zscore(keys.INFLIGHT, "ann")
    assert DatabaseOutage(runtime, sleep=slept.append).record(delivery, decision, write)
    assert len(tries) == 3 and slept == [0.5, 1.0]  # backing off, then written
    kept_at = runtime.redis.zscore(keys.INFLIGHT, "ann")
    assert released_at is not None and kept_at is not None and kept_at > released_at

    def never() -> None:
        raise _outage()

    runtime.settings = runtime.settings.model_copy(update={"db_outage_grace_seconds": 0})
    with capture_logs() as logs:
        assert not DatabaseOutage(runtime, sleep=slept.append).record(delivery, decision, never)
    [gave_up] = [e for e in logs if e["event"] == "outcome_not_recorded"]
    assert (gave_up["status"], gave_up["message_urn"]) == ("sent", "urn:li:msg:1")
