"""A worker's /healthz says whether its pool still works: the heartbeat rules on explicit times,
then real workers whose pool is frozen, or stuck in one call, and then recovers."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest

from scheduler.producer import enqueue_message
from tests.ports import free_port
from tests.scheduler.conftest import MakeCluster
from worker.dev.sandbox.control import SandboxClient
from worker.heartbeat import Beat, Heart, PoolMonitor, verdict
from worker.models import Status

NOW = 1000.0
STUCK_S = 60.0
LIMIT_S = 180.0


@pytest.mark.parametrize(
    ("beats", "expected"),
    [
        pytest.param([Beat(1, NOW - 1, None)], None, id="an idle process beating is alive"),
        pytest.param([Beat(1, NOW - 60, None)], None, id="silent exactly the threshold"),
        pytest.param(
            [Beat(1, NOW - 61, None)], "pool hung: pid 1 silent for 61s", id="silent too long"
        ),
        pytest.param([Beat(1, NOW - 1, NOW - 179)], None, id="a task within the limit is working"),
        pytest.param(
            [Beat(1, NOW - 1, NOW - 181)],
            "pool hung: pid 1 in one task for 181s",
            id="a task past the limit is stuck though its process beats",
        ),
        pytest.param(
            [Beat(2, NOW - 61, None), Beat(1, NOW - 1, None)],
            None,
            id="one responsive process keeps the worker alive",
        ),
        pytest.param(
            [Beat(2, NOW - 90, None), Beat(1, NOW - 1, NOW - 200)],
            "pool hung: pid 1 in one task for 200s; pid 2 silent for 90s",
            id="every process hung, each its own way",
        ),
        pytest.param([], "no pool process has beaten", id="nothing has beaten yet"),
    ],
)
def test_verdict(beats: list[Beat], expected: str | None) -> None:
    assert verdict(beats, NOW, stuck_after_s=STUCK_S, task_limit_s=LIMIT_S) == expected


def _monitor(directory: Path, now: float, running: Iterable[int]) -> PoolMonitor:
    alive = set(running)
    return PoolMonitor(
        directory,
        stuck_after_s=STUCK_S,
        task_limit_s=LIMIT_S,
        clock=lambda: now,
        is_running=lambda pid: pid in alive,
    )


def test_the_monitor_reads_what_a_heart_wrote(tmp_path: Path) -> None:
    times = iter([NOW - 5, NOW - 2])
    heart = Heart(tmp_path, 7, clock=lambda: next(times))
    heart.task_started()
    heart.beat()

    assert _monitor(tmp_path, NOW, running=[7]).beats() == [Beat(7, NOW - 2, NOW - 5)]


def test_a_task_that_finished_no_longer_counts_against_its_process(tmp_path: Path) -> None:
    times = iter([NOW - 500, NOW - 1])
    heart = Heart(tmp_path, 7, clock=lambda: next(times))
    heart.task_started()
    heart.task_finished()
    heart.beat()

    assert _monitor(tmp_path, NOW, running=[7]).check() is None


def test_the_beats_of_processes_that_are_gone_are_forgotten_and_removed(tmp_path: Path) -> None:
    Heart(tmp_path, 7, clock=lambda: NOW - 1).beat()  # replaced after its max tasks, say
    Heart(tmp_path, 8, clock=lambda: NOW - 90).beat()

    monitor = _monitor(tmp_path, NOW, running=[8])

    assert monitor.check() == "pool hung: pid 8 silent for 90s"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["8.beat"]


def test_files_no_heart_wrote_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes.beat").write_text("hello")
    (tmp_path / "9.beat").write_text("")
    Heart(tmp_path, 7, clock=lambda: NOW - 1).beat()

    assert _monitor(tmp_path, NOW, running=[7, 9]).beats() == [Beat(7, NOW - 1, None)]


# Real workers. The threshold is shrunk to its minimum so a frozen pool is seen in seconds.
WORKER_STUCK_S = 3.0
# A beat is up to a second old when the pool freezes, and the probe polls: the slack allowed.
SLACK_S = 2.0


def _await_status(url: str, status: int, timeout_s: float) -> httpx.Response:
    """Probe `url` until it answers `status`; fail with the last answer after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=1)
        except httpx.TransportError as exc:
            last = type(exc).__name__
        else:
            if response.status_code == status:
                return response
            last = f"{response.status_code} {response.text.strip()}"
        time.sleep(0.1)
    raise AssertionError(f"{url} not {status} after {timeout_s}s: last {last}")


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc (field 4 of stat, after the name)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def _signal(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        os.kill(pid, signum)


@pytest.mark.slow
@pytest.mark.outage
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the pool through /proc")
def test_a_frozen_pool_fails_liveness_then_recovers(make_cluster: MakeCluster) -> None:
    cluster = make_cluster({"ann": "linkup"}, worker_stuck_after_seconds=WORKER_STUCK_S)
    port = free_port()
    healthz = f"http://127.0.0.1:{port}/healthz"
    cluster.start("worker0", "worker", "--concurrency", "2", "--metrics-port", str(port))
    cluster.start("scheduler0", "scheduler")
    for i in range(3):
        enqueue_message(
            cluster.runtime, account="ann", to=f"https://www.linkedin.com/in/f-{i}", text="Hi"
        )
    cluster.wait_until_settled(3, timeout_s=60)
    _await_status(healthz, 200, timeout_s=10)
    pool = _children(cluster.processes["worker0"].pid)
    assert len(pool) == 2

    _signal(pool, signal.SIGSTOP)
    try:
        frozen_at = time.monotonic()
        failed = _await_status(healthz, 503, timeout_s=WORKER_STUCK_S + SLACK_S)
        took_s = time.monotonic() - frozen_at
    finally:
        _signal(pool, signal.SIGCONT)

    # Failed because the beats went stale: not before the threshold, less a beat's age.
    assert took_s > WORKER_STUCK_S - 1.5
    assert failed.text.startswith("pool hung:")
    assert all(f"pid {pid} silent for" in failed.text for pid in pool)
    thawed_at = time.monotonic()
    _await_status(healthz, 200, timeout_s=SLACK_S)
    print(  # the figures the closing note reports (run with -s)
        f"\nfrozen pool: /healthz 503 {took_s:.1f} s after SIGSTOP (threshold"
        f" {WORKER_STUCK_S:g} s), 200 again {time.monotonic() - thawed_at:.1f} s after SIGCONT"
    )


@pytest.mark.slow
@pytest.mark.outage
def test_a_pool_stuck_in_one_call_fails_liveness_and_its_send_goes_unknown(
    make_cluster: MakeCluster, sandbox: SandboxClient
) -> None:
    sending_timeout_s, answer_after_s = 1.0, 8.0
    cluster = make_cluster(
        {"ann": "linkup"},
        worker_stuck_after_seconds=WORKER_STUCK_S,
        sending_timeout_seconds=sending_timeout_s,
        db_outage_grace_seconds=0,  # a task may also wait this long for the database
        http_read_timeout_seconds=30.0,  # the worker waits for the slow answer
    )
    port = free_port()
    healthz = f"http://127.0.0.1:{port}/healthz"
    cluster.start("worker0", "worker", "--concurrency", "1", "--metrics-port", str(port))
    _await_status(healthz, 200, timeout_s=30)
    sandbox.add_fault("slow", provider="linkup", delay_s=answer_after_s)
    enqueue_message(cluster.runtime, account="ann", to="https://www.linkedin.com/in/s-1", text="Hi")
    cluster.start("scheduler0", "scheduler")

    # Stuck once its one task has run the sending timeout plus the threshold.
    failed = _await_status(healthz, 503, timeout_s=15)
    assert failed.text.startswith("pool hung: pid ")
    assert " in one task for " in failed.text
    [delivery] = cluster.deliveries()
    assert delivery.status is Status.UNKNOWN
    # The answer comes at last: the pool is working again, and what the provider said
    # replaces the sweep's `unknown`.
    _await_status(healthz, 200, timeout_s=answer_after_s)
    deadline = time.monotonic() + 5
    while (delivery := cluster.deliveries()[0]).status is Status.UNKNOWN:
        assert time.monotonic() < deadline, cluster.tail_logs()
        time.sleep(0.1)
    assert delivery.status is Status.SENT
    assert delivery.error is not None and delivery.error.startswith("answered after the sending")
