"""Prometheus metrics for workers and schedulers.

Counters and histograms are recorded where things happen (a provider call, a release).
Queue depths and pauses live in Redis, so they are read when Prometheus scrapes, by
`QueueCollector`: nothing to keep in step, and any scheduler replica reports the same truth.

Celery's prefork children count in their own processes: `use_multiprocess_files` makes every
metric write to files that the worker parent's /metrics endpoint adds up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from worker import keys

# Provider answers take tens of milliseconds to tens of seconds (a slow LinkedIn session).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)
# A release is late by milliseconds when healthy, by seconds when the scheduler lags.
LATENESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

SENDS = Counter(
    "outreach_sends",
    "Deliveries that reached a terminal status, by provider and outcome (sent, failed, unknown).",
    ["provider", "outcome"],
)
ATTEMPTS = Counter(
    "outreach_attempts",
    "Provider calls (sends and OutX status checks) by provider, kind and typed outcome.",
    ["provider", "kind", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "outreach_provider_latency_seconds",
    "How long a provider took to answer, by provider and kind of call.",
    ["provider", "kind"],
    buckets=LATENCY_BUCKETS,
)
ACCOUNT_PAUSES = Counter(
    "outreach_account_pauses",
    "Times an account was paused, by cause: rate_limited (LinkedIn said slow down, the pause"
    " ends by itself) or account_refused (credentials or plan; paused until resumed).",
    ["account", "reason"],
)
READS = Counter(
    "outreach_reads",
    "Conversation and inbox reads, by provider, kind (conversation, inbox) and outcome"
    " (replied, no_reply, undecided, page, failed).",
    ["provider", "kind", "outcome"],
)
REPLIES = Counter(
    "outreach_replies",
    "Replies recorded, by how they were found (follow_up_check, inbox, manual, import).",
    ["how"],
)
RELEASE_LATENESS = Histogram(
    "outreach_release_lateness_seconds",
    "How long after an account became free to send its due job was released to the workers.",
    buckets=LATENESS_BUCKETS,
)


def use_multiprocess_files(directory: Path) -> None:
    """Have every metric of this process and of its forked children write to files in
    `directory`, for `registry()` to add up. prometheus_client chooses where values live when
    it is imported, so the choice is made again here, before any labelled metric has a value."""
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]  # untyped upstream


def registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """What /metrics serves: this process's metrics (or, under `use_multiprocess_files`, the
    sum over its children's files), and any scrape-time collectors."""
    chosen = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(chosen, path=directory)  # type: ignore[no-untyped-call]  # untyped upstream
    else:
        chosen.register(_Everything())
    for collector in extra:
        chosen.register(collector)
    return chosen


class _Everything(Collector):
    """The process-wide default registry, as one collector of a per-server registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class QueueCollector(Collector):
    """Per-account queue depth and pause state, OutX tasks awaiting a status, and the Celery
    queue's length, read from Redis at scrape time (one pipelined round trip)."""

    def __init__(self, client: redis.Redis, accounts: Iterable[str]):
        self.redis = client
        self.accounts = sorted(accounts)

    def collect(self) -> Iterator[Metric]:
        pipe = self.redis.pipeline(transaction=False)
        for account in self.accounts:
            pipe.zcard(keys.queue(account))
            pipe.hget(keys.pace(account), "paused_until")
        pipe.zcard(keys.CHECKS)
        pipe.llen(keys.CELERY_QUEUE)
        answers = pipe.execute()
        now = time.time()  # pause times are written from the processes' clocks too
        depth = GaugeMetricFamily(
            "outreach_queue_depth", "Jobs waiting in an account's queue.", labels=["account"]
        )
        paused = GaugeMetricFamily(
            "outreach_account_paused", "1 while an account is paused, else 0.", labels=["account"]
        )
        for i, account in enumerate(self.accounts):
            queued, until = answers[2 * i], answers[2 * i + 1]
            depth.add_metric([account], float(queued))
            paused.add_metric([account], 1.0 if until and float(until) > now else 0.0)
        yield depth
        yield paused
        yield GaugeMetricFamily(
            "outreach_outx_tasks_pending",
            "OutX tasks accepted and waiting for their status check.",
            value=float(answers[-2]),
        )
        yield GaugeMetricFamily(
            "outreach_celery_queue_length",
            "Released jobs waiting for a worker (what the worker autoscaler watches).",
            value=float(answers[-1]),
        )
