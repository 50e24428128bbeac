"""The long-running processes: a Celery worker and the scheduler, each with its optional
/metrics, /healthz and /readyz endpoints."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import redis
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from scheduler.pump import Pump
from worker.celery_app import QUEUE, connect
from worker.health import Check, HealthServer
from worker.heartbeat import PoolMonitor, beat_into
from worker.logs import get_logger
from worker.metrics import RELEASE_LATENESS, QueueCollector, registry, use_multiprocess_files
from worker.redis_connect import redis_client
from worker.runtime import Runtime
from worker.settings import Settings

log = get_logger("outreach.processes")

# A scheduler step takes milliseconds; one that has not finished in this long is stuck.
SCHEDULER_STUCK_AFTER_S = 60.0


def run_worker(runtime: Runtime, concurrency: int, metrics_port: int | None) -> None:
    """Run a Celery worker in this process until it is told to stop. On SIGTERM Celery stops
    taking jobs and finishes the sends under way (a warm shutdown)."""
    # A bad accounts file stops the worker here, not at its first send.
    log.info("worker_starting", accounts=len(runtime.accounts), concurrency=concurrency)
    # A database not at the schema's head stops the worker here too; and the driver, imported
    # once before the fork, is shared by every child instead of imported by each.
    runtime.engine.dispose()
    redis_url = runtime.redis_url
    if metrics_port is not None:
        use_multiprocess_files(_metrics_directory())
        ready = dependencies_ready(redis_url, runtime.settings.resolved_database_url)
        live = _pool_monitor(runtime.settings).check
        HealthServer(registry(), live=live, ready=ready, port=metrics_port).start()
    connect(redis_url).worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            # Celery sets the root logger's level: keep the one OUTREACH_LOG_LEVEL chose.
            f"--loglevel={runtime.settings.log_level}",
            "-Q",
            QUEUE,
            "--without-gossip",
            "--without-mingle",
        ]
    )


def run_scheduler(runtime: Runtime, metrics_port: int | None, stop: threading.Event) -> None:
    """Release due jobs until `stop` is set."""
    celery = connect(runtime.redis_url)
    pump = Pump(
        runtime,
        lambda task, delivery_id: celery.send_task(task, args=[delivery_id], queue=QUEUE),
        observe_lateness=RELEASE_LATENESS.observe,
    )
    server = None
    if metrics_port is not None:

        def alive() -> str | None:
            idle = time.monotonic() - pump.heartbeat
            return None if idle < SCHEDULER_STUCK_AFTER_S else f"no step for {idle:.0f}s"

        collector = QueueCollector(runtime.redis, runtime.accounts.keys())
        ready = dependencies_ready(runtime.redis_url, runtime.settings.resolved_database_url)
        server = HealthServer(registry([collector]), live=alive, ready=ready, port=metrics_port)
        server.start()
    try:
        pump.run(stop)
    finally:
        if server is not None:
            server.stop()


def dependencies_ready(redis_url: str, database_url: str) -> Check:
    """Ready while Redis answers PING and the database SELECT 1. Connections are opened per
    check and closed, so none is shared with the worker's forked children."""
    engine = sa.create_engine(database_url, poolclass=NullPool)

    def check() -> str | None:
        client = redis_client(redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"redis: {type(exc).__name__}"
        finally:
            client.close()
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return f"database: {type(exc).__name__}"
        return None

    return check


def _pool_monitor(settings: Settings) -> PoolMonitor:
    """Judge the pool from the heartbeats its processes, forked after this, will write. A task
    may run as long as a send may be in flight (then the scheduler has given up on it) plus
    the same grace as a silent process."""
    directory = _private_directory("outreach-heartbeats-")
    beat_into(directory)
    stuck_after_s = settings.worker_stuck_after_seconds
    return PoolMonitor(
        directory,
        stuck_after_s=stuck_after_s,
        # A worker holding an answer through a database outage is in one task that long.
        task_limit_s=max(settings.sending_timeout_seconds, settings.db_outage_grace_seconds)
        + stuck_after_s,
    )


def _metrics_directory() -> Path:
    """PROMETHEUS_MULTIPROC_DIR if the operator set one (emptied: old files would add up),
    else a fresh directory removed when the worker exits."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        directory = Path(given)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory
    return _private_directory("outreach-metrics-")


def _private_directory(prefix: str) -> Path:
    """A fresh directory, removed when this process exits."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    parent = os.getpid()

    def remove() -> None:
        if os.getpid() == parent:  # forked children run atexit too; only the maker removes it
            shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove)
    return directory
