"""An OutX delivery to a profile URL, in-process over real Redis, the database and HTTP to the
sandbox: the release fetches the profile instead of sending, paced like a send; its task is
checked; the URN found queues the delivery again, and the send goes to that URN."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from scheduler.producer import enqueue_message
from worker.dev.sandbox import people
from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.server import Sandbox
from worker.lifecycle import Lifecycle
from worker.models import Status
from worker.providers.outx import FETCH_PATH
from worker.runtime import Runtime
from worker.sending import SendService

JANE = "https://www.linkedin.com/in/jane-doe"
JANE_URN = people.recipient("jane-doe").urn  # urn:li:fsd_profile:…, as Fetch Profile gives it
PERSON_URN = f"urn:li:person:{people.recipient('jane-doe').member_id}"  # as send-message takes it
LATER_S = 5.0  # past any pacing gap of these tests: release as if that much time had passed


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], sandbox_server: Sandbox) -> Runtime:
    return make_runtime(
        {"eve": "outx", "fay": "outx"},
        outx_base_url=sandbox_server.url,
        pace_min_seconds=0.2,
        pace_max_seconds=0.4,
        outx_poll_seconds=0.1,
    )


def _release(runtime: Runtime, later_s: float = 0.0) -> int:
    [release] = runtime.due_index.release(time.time() + later_s)
    return release.delivery_id


def _enqueue(runtime: Runtime, account: str = "eve", to: str = JANE, text: str = "Hi") -> int:
    return enqueue_message(runtime, account=account, to=to, text=text).delivery_id


def test_the_release_fetches_the_profile_then_the_urn_is_sent_to(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    delivery_id = _enqueue(runtime)
    service = SendService(runtime)

    service.send(_release(runtime))
    fetching = runtime.store.get(delivery_id)
    assert fetching is not None
    assert (fetching.status, fetching.recipient_urn) == (Status.CONFIRMING, None)
    assert fetching.task_id == sandbox.profile_fetches()[0]["task_id"]
    assert sandbox.messages() == []
    pace = runtime.due_index.state("eve")
    assert pace.inflight is None and pace.next_at is not None and pace.next_at > time.time()

    service.check(delivery_id)
    resolved = runtime.store.get(delivery_id)
    assert resolved is not None
    assert (resolved.status, resolved.recipient_urn, resolved.task_id) == (
        Status.QUEUED,
        JANE_URN,
        None,
    )
    known = runtime.profiles.get(JANE)
    assert known is not None and known.urn == JANE_URN
    assert runtime.due_index.release(time.time()) == []  # the fetch's gap holds the send back

    service.send(_release(runtime, LATER_S))
    service.check(delivery_id)
    sent = runtime.store.get(delivery_id)
    assert sent is not None and sent.status == Status.SENT
    [message] = sandbox.messages()
    assert message["recipient"] == PERSON_URN
    story = [(a.kind, a.outcome) for a in runtime.store.attempts_of(delivery_id)]
    assert story == [
        ("resolve", "accepted"),
        ("resolve", "resolved"),
        ("send", "accepted"),
        ("check", "sent"),
    ]
    assert len(sandbox.profile_fetches()) == 1


def test_a_known_urn_is_used_without_any_call(runtime: Runtime, sandbox: SandboxClient) -> None:
    runtime.profiles.remember(JANE, datetime.now(UTC), urn=JANE_URN)
    delivery_id = _enqueue(runtime, account="fay")

    SendService(runtime).send(_release(runtime))

    row = runtime.store.get(delivery_id)
    assert row is not None and (row.status, row.recipient_urn) == (Status.CONFIRMING, JANE_URN)
    assert sandbox.profile_fetches() == []
    assert [m["recipient"] for m in sandbox.messages()] == [PERSON_URN]


def test_a_known_failure_fails_the_delivery_without_a_call_and_frees_the_account(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    runtime.profiles.remember(
        JANE, datetime.now(UTC), error="OutX's fetch completed without a profile_urn"
    )
    delivery_id = _enqueue(runtime)

    SendService(runtime).send(_release(runtime))

    row = runtime.store.get(delivery_id)
    assert row is not None and row.status == Status.FAILED
    assert (
        row.error == "profile could not be resolved: OutX's fetch completed without a profile_urn"
    )
    assert sandbox.requests() == []
    pace = runtime.due_index.state("eve")
    assert pace.inflight is None and (pace.next_at or 0) <= time.time()


def test_a_profile_that_is_not_there_fails_its_delivery_and_is_remembered(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    nobody = "https://www.linkedin.com/in/no-such-person"
    # Whether a profile exists and how OutX then answers, the docs do not say: a named rule.
    sandbox.add_fault(
        "outx_task", path="/linkedin-agent/fetch-profile", result="fail",
        profile_slug="no-such-person", count=None,
    )  # fmt: skip
    delivery_id = _enqueue(runtime, to=nobody)
    service = SendService(runtime)
    service.send(_release(runtime))
    service.check(delivery_id)

    row = runtime.store.get(delivery_id)
    assert row is not None and row.status == Status.FAILED
    assert (
        row.error == "profile could not be resolved: OutX's fetch completed without a profile_urn"
    )
    known = runtime.profiles.get(nobody)
    assert known is not None and known.urn is None
    assert sandbox.messages() == []


def test_a_rate_limited_fetch_pauses_the_account_and_keeps_the_message(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("rate_limit", provider="outx", path=FETCH_PATH, retry_after_s=600)
    delivery_id = _enqueue(runtime)

    SendService(runtime).send(_release(runtime))

    row = runtime.store.get(delivery_id)
    assert row is not None and (row.status, row.rate_limits) == (Status.QUEUED, 1)
    pause = runtime.due_index.state("eve").pause_at(time.time())
    assert pause is not None and pause.reason.startswith("rate limited")


def test_a_second_delivery_waits_for_a_fetch_of_the_same_profile_under_way(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    first = _enqueue(runtime, account="eve")
    second = _enqueue(runtime, account="fay")
    service = SendService(runtime)
    released = runtime.due_index.release(time.time())
    assert {r.delivery_id for r in released} == {first, second}
    service.send(first)
    service.send(second)

    row = runtime.store.get(second)
    assert row is not None and row.status == Status.QUEUED
    assert row.error == f"waiting for delivery {first}'s profile fetch"
    assert len(sandbox.profile_fetches()) == 1


def test_a_worker_lost_during_a_fetch_leaves_it_queued_not_unknown(
    runtime: Runtime, sandbox: SandboxClient
) -> None:
    delivery_id = _enqueue(runtime)
    _release(runtime)
    claimed = runtime.store.claim(delivery_id, datetime.now(UTC))
    assert claimed is not None

    Lifecycle.of(runtime).time_out(
        "eve", delivery_id, due=0.0, delivery=claimed, timeout_s=8, now=datetime.now(UTC)
    )

    row = runtime.store.get(delivery_id)
    assert row is not None and row.status == Status.QUEUED
    assert "nothing was sent" in (row.error or "")
    assert runtime.due_index.state("eve").queued == 1
