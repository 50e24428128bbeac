"""Metrics and health endpoints, from real worker and scheduler processes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scheduler.processes import dependencies_ready
from scheduler.producer import enqueue_message
from tests.cluster import Cluster
from tests.ports import free_port
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.dev.sandbox.server import Sandbox
from worker.health import HealthServer
from worker.metrics import QueueCollector, registry
from worker.runtime import Runtime


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, frozenset(labels.items())), 0.0)


def _wait_for(url: str, timeout_s: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_queue_depth_and_pauses_are_read_from_redis(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime({"ann": "linkup", "ben": "connectsafely"})
    for i in range(3):
        enqueue_message(runtime, account="ann", to=f"https://www.linkedin.com/in/p-{i}", text="Hi")
    runtime.due_index.pause("ben", time.time() + 600, "rate_limited")
    collector = QueueCollector(runtime.redis, runtime.accounts.keys())

    server = HealthServer(registry([collector]), port=0, host="127.0.0.1").start()
    try:
        text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    finally:
        server.stop()

    assert _value(text, "outreach_queue_depth", account="ann") == 3
    assert _value(text, "outreach_queue_depth", account="ben") == 0
    assert _value(text, "outreach_account_paused", account="ann") == 0
    assert _value(text, "outreach_account_paused", account="ben") == 1
    assert _value(text, "outreach_outx_tasks_pending") == 0


def test_readiness_fails_while_redis_is_unreachable(
    closed_port_url: str, database_url: str, redis_url: str
) -> None:
    unreachable = closed_port_url.replace("http://", "redis://")
    down = HealthServer(
        registry(), ready=dependencies_ready(unreachable, database_url), host="127.0.0.1"
    ).start()
    up = HealthServer(
        registry(), ready=dependencies_ready(redis_url, database_url), host="127.0.0.1"
    ).start()
    try:
        not_ready = httpx.get(f"http://127.0.0.1:{down.port}/readyz")
        ready = httpx.get(f"http://127.0.0.1:{up.port}/readyz")
        alive = httpx.get(f"http://127.0.0.1:{down.port}/healthz")
    finally:
        down.stop()
        up.stop()

    assert not_ready.status_code == 503 and not_ready.text.startswith("redis:")
    assert ready.status_code == 200
    assert alive.status_code == 200


@pytest.fixture
def cluster(
    tmp_path: Path,
    redis_url: str,
    database_url: str,
    sandbox_server: Sandbox,
    sandbox: SandboxClient,
) -> Iterator[Cluster]:
    built = Cluster(
        tmp_path,
        redis_url=redis_url,
        database_url=database_url,
        sandbox_url=sandbox_server.url,
        accounts={"ann": "linkup", "eve": "outx"},
    )
    yield built
    built.stop()


@pytest.mark.slow
def test_worker_and_scheduler_export_what_happened(
    cluster: Cluster, sandbox: SandboxClient
) -> None:
    ann = sender_of(cluster.runtime.accounts["ann"])
    sandbox.add_fault("rate_limit", provider="linkup", sender=ann, retry_after_s=1)
    for i in range(3):
        enqueue_message(
            cluster.runtime, account="ann", to=f"https://www.linkedin.com/in/m-{i}", text=f"Hi {i}"
        )
        enqueue_message(
            cluster.runtime, account="eve", to=f"urn:li:person:ACoAAMetrics{i:012d}", text=f"Yo {i}"
        )
    worker_port, scheduler_port = free_port(), free_port()
    # Two child processes in the worker: their counts must add up in the parent's /metrics.
    cluster.start("worker0", "worker", "--concurrency", "2", "--metrics-port", str(worker_port))
    cluster.start("scheduler0", "scheduler", "--metrics-port", str(scheduler_port))

    cluster.wait_until_settled(6, timeout_s=60)
    worker = _wait_for(f"http://127.0.0.1:{worker_port}/metrics").text
    scheduler = _wait_for(f"http://127.0.0.1:{scheduler_port}/metrics").text

    assert _value(worker, "outreach_sends_total", provider="linkup", outcome="sent") == 3
    assert _value(worker, "outreach_sends_total", provider="outx", outcome="sent") == 3
    linkup_sends = {"provider": "linkup", "kind": "send"}
    assert _value(worker, "outreach_attempts_total", **linkup_sends, outcome="ratelimited") == 1
    assert _value(worker, "outreach_attempts_total", **linkup_sends, outcome="sent") == 3
    assert (
        _value(worker, "outreach_attempts_total", provider="outx", kind="send", outcome="accepted")
        == 3
    )
    assert _value(worker, "outreach_provider_latency_seconds_count", **linkup_sends) == 4
    assert (
        _value(worker, "outreach_account_pauses_total", account="ann", reason="rate_limited") == 1
    )
    assert _value(scheduler, "outreach_release_lateness_seconds_count") >= 7
    assert _value(scheduler, "outreach_queue_depth", account="ann") == 0
    assert _value(scheduler, "outreach_outx_tasks_pending") == 0
    for port in (worker_port, scheduler_port):
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
