"""Benchmarks that print figures (no assertions): `make bench`.

1. Throughput with pacing at zero and 1,000 accounts against the sandbox: the pipeline's
   sends per second beside a bare Celery task making the same HTTP call on the same broker
   and concurrency, in the same run.
2. Pacing precision with a backlog: mean gap against the configured mean, and how late a
   release is after the moment it became due (median, p99).
3. Release cost against backlog size.
4. Enqueueing from one process: single `enqueue_message` calls, `enqueue_messages` batches,
   and an `Enqueuer` fed by 32 threads at once.

Uses OUTREACH_TEST_REDIS_URL / OUTREACH_TEST_DATABASE_URL when set, embedded otherwise.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import redis

from scheduler.producer import Enqueuer, Message, enqueue_message, enqueue_messages
from scheduler.pump import Pump
from tests.bench.services import Services, bench_services
from tests.bench.stub import StubServer
from tests.cluster import Cluster, gaps_by_sender
from worker.celery_app import QUEUE, connect
from worker.dev.sandbox.control import SandboxClient
from worker.due_index import DueIndex
from worker.logs import configure_logging

CONCURRENCY = 8


def _wait_for(count: int, sandbox: SandboxClient, timeout_s: float = 600) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(sandbox.messages()) >= count:
            return time.monotonic()
        time.sleep(0.05)
    raise RuntimeError(f"only {len(sandbox.messages())} of {count} delivered")


def _enqueue_all(cluster: Cluster, names: dict[str, str], per_account: int) -> None:
    for i in range(per_account):
        for name in names:
            enqueue_message(
                cluster.runtime,
                account=name,
                to=f"https://www.linkedin.com/in/{name}-lead-{i}",
                text=f"Hello {i} from {name}",
            )


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


Delivered = Callable[[], int]


def _wait_until(count: int, delivered: Delivered, timeout_s: float = 600) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if delivered() >= count:
            return time.monotonic()
        time.sleep(0.05)
    raise RuntimeError(f"only {delivered()} of {count} delivered")


def pipeline_rate(
    setup: Services, provider_url: str, delivered: Delivered, accounts: int, per_account: int
) -> float:
    """Sends per second through the whole pipeline, pacing at zero, 1 worker x CONCURRENCY."""
    total = accounts * per_account
    names = {f"a{i:04d}": "linkup" for i in range(accounts)}
    cluster = Cluster(
        setup.work / f"pipeline-{time.monotonic_ns()}",
        redis_url=setup.redis_url,
        database_url=setup.database_url,
        sandbox_url=provider_url,
        accounts=names,
        pace_min_seconds=0,
        pace_max_seconds=0,
        log_level="WARNING",
    )
    try:
        cluster.start_workers(1, concurrency=CONCURRENCY)
        time.sleep(4)  # worker start-up is not what we measure
        before = delivered()
        started = time.monotonic()
        _enqueue_all(cluster, names, per_account)
        enqueued = time.monotonic()
        cluster.start_schedulers(1)
        done = _wait_until(before + total, delivered)
        print(
            f"  enqueue_message (validate, row, index): {total / (enqueued - started):.0f}/s;"
            f" delivery: {total / (done - enqueued):.1f} sends/s"
        )
        return total / (done - enqueued)
    finally:
        cluster.stop()


def bare_rate(setup: Services, provider_url: str, delivered: Delivered, total: int) -> float:
    """A bare Celery task making the same HTTP call, same broker and concurrency."""
    broker = connect(setup.redis_url).conf.broker_url
    env = {**os.environ, "BARE_BROKER": broker}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.bench.bare", "worker", "-Q", "bare",
         f"--concurrency={CONCURRENCY}", "--loglevel=WARNING", "--without-gossip",
         "--without-mingle"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        from tests.bench.bare import app as bare  # noqa: PLC0415 - reads BARE_BROKER

        bare.conf.broker_url = broker
        time.sleep(4)
        before = delivered()
        started = time.monotonic()
        for i in range(total):
            body = {
                "linkedin_url": f"https://www.linkedin.com/in/bare-lead-{i}",
                "message_text": f"Hello {i}",
                "login_token": f"token-{i % 1000}",
            }
            args = [f"{provider_url}/v1/messages/send-message", body, {"x-api-key": "bench-key"}]
            bare.send_task("bare.send", queue="bare", args=args)
        done = _wait_until(before + total, delivered)
        return total / (done - started)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def bench_throughput(setup: Services, accounts: int = 1000, per_account: int = 2) -> None:
    total = accounts * per_account
    sandbox = setup.sandbox
    print(f"throughput: {total} messages, {accounts} accounts, pacing 0, 1 worker x {CONCURRENCY}")
    with StubServer() as stub:

        def stub_count() -> int:
            return stub.count

        stub_bare = bare_rate(setup, stub.url, stub_count, total)
        sandbox_bare = bare_rate(setup, setup.sandbox_url, lambda: len(sandbox.messages()), total)
        print(
            f"  bare Celery task: {stub_bare:.1f} sends/s against a do-nothing HTTP stub,"
            f" {sandbox_bare:.1f} against the sandbox"
        )
        print("  pipeline against the stub:")
        rate = pipeline_rate(setup, stub.url, stub_count, accounts, per_account)
    print(f"  ratio pipeline / bare task, both against the stub: {rate / stub_bare:.2f}")


def bench_precision(setup: Services, accounts: int = 10, per_account: int = 30) -> None:
    work, redis_url, database_url = setup.work, setup.redis_url, setup.database_url
    sandbox_url, sandbox = setup.sandbox_url, setup.sandbox
    names = {f"p{i:02d}": "linkup" for i in range(accounts)}
    cluster = Cluster(
        work / "precision",
        redis_url=redis_url,
        database_url=database_url,
        sandbox_url=sandbox_url,
        accounts=names,
        log_level="WARNING",
    )
    lateness: list[tuple[float, float]] = []  # (when released, how late)
    stop = threading.Event()
    try:
        _enqueue_all(cluster, names, per_account)
        cluster.start_workers(2, concurrency=4)
        time.sleep(4)
        sandbox.reset()
        celery = connect(cluster.runtime.redis_url)
        pump = Pump(
            cluster.runtime,
            lambda task, i: celery.send_task(task, args=[i], queue=QUEUE),
            observe_lateness=lambda late: lateness.append((time.time(), late)),
        )
        pump_started = time.time()
        thread = threading.Thread(target=pump.run, args=(stop,))
        thread.start()
        _wait_for(accounts * per_account, sandbox)
    finally:
        stop.set()
        cluster.stop()
    # The backlog was all due before the pump started; lateness counts the releases after.
    late = [delay for released_at, delay in lateness if released_at - delay >= pump_started]
    gaps = gaps_by_sender(sandbox.requests())
    means = [statistics.mean(g) for g in gaps.values()]
    every = [gap for g in gaps.values() for gap in g]
    print(
        f"pacing: {accounts} accounts x {per_account} messages backlog, window 0.2-0.4 s "
        f"(mean 0.300 s), 2 workers x 4"
    )
    print(
        f"  mean gap {statistics.mean(every):.3f} s; per-account means "
        f"{min(means):.3f}-{max(means):.3f} s; shortest gap {min(every):.3f} s"
    )
    print(
        f"  release lateness after the due time: median {statistics.median(late) * 1000:.1f} ms,"
        f" p99 {_percentile(late, 99) * 1000:.1f} ms ({len(late)} releases)"
    )


def bench_enqueue(setup: Services, count: int = 3000) -> None:
    names = {f"e{i:03d}": "linkup" for i in range(100)}
    cluster = Cluster(
        setup.work / "enqueue",
        redis_url=setup.redis_url,
        database_url=setup.database_url,
        sandbox_url=setup.sandbox_url,
        accounts=names,
        log_level="WARNING",
    )
    runtime = cluster.runtime

    def messages(tag: str) -> list[Message]:
        return [
            Message(f"e{i % 100:03d}", f"https://www.linkedin.com/in/{tag}-lead-{i}", f"Hi {i}")
            for i in range(count)
        ]

    print(f"enqueue: {count} messages per way, 100 accounts, one process")
    single = messages("single")
    started = time.perf_counter()
    for m in single[:1000]:
        enqueue_message(runtime, account=m.account, to=m.to, text=m.text)
    print(f"  enqueue_message, one call at a time: {1000 / (time.perf_counter() - started):.0f}/s")
    batched = messages("batch")
    started = time.perf_counter()
    for i in range(0, count, 500):
        enqueue_messages(runtime, batched[i : i + 500])
    print(f"  enqueue_messages, 500 a call: {count / (time.perf_counter() - started):.0f}/s")
    threaded = messages("threads")
    started = time.perf_counter()
    with Enqueuer(runtime) as enqueuer:

        def caller(k: int) -> None:
            for m in threaded[k::32]:
                enqueuer.enqueue(m)

        threads = [threading.Thread(target=caller, args=(k,)) for k in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - started
    print(f"  Enqueuer, 32 threads each calling enqueue(): {count / elapsed:.0f}/s")
    cluster.stop()


def bench_release_cost(redis_url: str, accounts: int = 1000) -> None:
    client = redis.Redis.from_url(redis_url)
    due_index = DueIndex(client)
    print(f"release cost, {accounts} accounts with everything due:")
    for per_account in (1, 10, 100):
        client.flushdb()
        items = [(f"r{a}", a * 1000 + i, 1.0) for a in range(accounts) for i in range(per_account)]
        for start in range(0, len(items), 10_000):
            due_index.enqueue(items[start : start + 10_000])
        started = time.perf_counter()
        released = due_index.release(time.time(), limit=accounts)
        elapsed = time.perf_counter() - started
        print(f"  backlog {len(items):>7}: {elapsed * 1e6 / len(released):.1f} us per release")
    client.flushdb()
    client.close()


def main() -> None:
    configure_logging("console", "WARNING")
    with bench_services() as setup:
        only = set(sys.argv[1:])  # e.g. `python -m tests.bench.run throughput`
        if not only or "release" in only:
            bench_release_cost(setup.redis_url)
            print()
        if not only or "precision" in only:
            bench_precision(setup)
            print()
        if not only or "enqueue" in only:
            bench_enqueue(setup)
            print()
        if not only or "throughput" in only:
            bench_throughput(setup)


if __name__ == "__main__":
    main()
