"""Webhooks end to end: real scheduler and worker processes, sends to the sandbox, and a real
receiver on loopback that refuses the first attempts, verifies every signature and counts
what it took. Workers are killed (SIGKILL) mid-run; no event may be lost."""

from __future__ import annotations

import time

import pytest

from scheduler.producer import enqueue_message
from tests.cluster import Cluster
from tests.scheduler.conftest import MakeCluster
from tests.webhook_receiver import TEST_SECRET, Receiver
from worker.dev.sandbox.control import SandboxClient
from worker.models import Status
from worker.webhooks.store import DELIVERED

pytestmark = pytest.mark.slow

ACCOUNTS = {"ann": "linkup", "ben": "linkup", "dan": "connectsafely"}
FAST_WEBHOOKS = {
    "webhook_retry_first_seconds": 0.2,
    "webhook_retry_max_seconds": 0.5,
    "webhook_timeout_seconds": 1.0,  # a lost webhook task comes back after 3 s
    "webhook_endpoints_cache_seconds": 0,
    "sending_timeout_seconds": 3.0,
}


def _wait(what: str, cluster: Cluster, ready: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}\n{cluster.tail_logs()}"
        time.sleep(0.05)


def test_every_event_arrives_signed_despite_refusals_and_killed_workers(
    make_cluster: MakeCluster, sandbox: SandboxClient
) -> None:
    cluster = make_cluster(ACCOUNTS, **FAST_WEBHOOKS)
    cluster.env["HOOK_SECRET"] = TEST_SECRET
    sandbox.add_fault("slow", delay_s=0.3, count=None)  # sends in flight when the kill lands
    with Receiver(refuse_first=2) as receiver:
        added = cluster.run(
            "webhooks", "add", receiver.url, "--events", "sent,failed,unknown",
            "--secret-env", "HOOK_SECRET",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        for i in range(6):
            for account in ACCOUNTS:
                enqueue_message(
                    cluster.runtime,
                    account=account,
                    to=f"https://www.linkedin.com/in/{account}-lead-{i}",
                    text=f"Hello {i} from {account}",
                )
        cluster.start_workers(2, prefix="doomed")
        cluster.start_schedulers(1)
        _wait("no webhook attempted", cluster, lambda: sum(receiver.attempts.values()) >= 4)
        cluster.kill("doomed0")
        cluster.kill("doomed1")
        cluster.start_workers(1, prefix="survivor")

        rows = cluster.wait_until_settled(18, timeout_s=90)
        store = cluster.runtime.webhooks
        _wait(
            "webhook events still undelivered",
            cluster,
            lambda: all(e.state == DELIVERED for e in store.all_events()),
        )

    events = store.all_events()
    assert receiver.bad_signatures == 0
    # Every event written was taken, under its own webhook-id, after two refusals.
    assert {e.message_id for e in events} == set(receiver.taken)
    assert all(receiver.attempts[e.message_id] >= 3 for e in events)
    # Every attempt recorded was made. A worker killed between the receiver's answer and its
    # record leaves an attempt made but not recorded, never the other way round.
    assert all(1 <= e.attempts <= receiver.attempts[e.message_id] for e in events)
    # Every delivery's end was told, with its final status.
    told = {(b["data"]["id"], b["type"]) for b in receiver.bodies.values()}
    for row in rows:
        assert row.status in (Status.SENT, Status.UNKNOWN), (row.id, row.status, row.error)
        assert (row.id, f"delivery.{row.status.value}") in told, row.id
