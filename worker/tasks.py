"""Celery tasks: shims that hand a delivery id to the send service, an account to the
inbox sweep, or an outbox event id to the webhook sender."""

from __future__ import annotations

from typing import Any

from celery.signals import task_postrun, task_prerun, worker_process_init

from worker import heartbeat
from worker.celery_app import CHECK_TASK, INBOX_TASK, SEND_TASK, WEBHOOK_TASK, app
from worker.inbox_sweep import InboxSweep
from worker.logs import get_logger
from worker.runtime import get_runtime
from worker.sending import SendService
from worker.webhooks.delivery import WebhookSender

log = get_logger("outreach.tasks")


# Connected before `_warm_up`: liveness is about this process, not the database or Redis it
# warms up against (readiness says those); Celery kills a child whose start takes too long.
@worker_process_init.connect  # type: ignore[untyped-decorator]
def _start_heartbeat(**_: Any) -> None:
    heartbeat.start_beating()


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _warm_up(**_: Any) -> None:
    """Build a new child's runtime (database engine, Redis client, accounts, HTTP client)
    before its first task, so that task is not the one paying for it."""
    runtime = get_runtime()
    try:
        for part in ("engine", "store", "due_index", "accounts", "http", "outbox"):
            getattr(runtime, part)
    except Exception:
        # Not fatal: a database or Redis away right now is retried by the first task.
        log.warning("worker_warm_up_failed", exc_info=True)


@task_prerun.connect  # type: ignore[untyped-decorator]
def _task_started(**_: Any) -> None:
    heartbeat.task_started()


@task_postrun.connect  # type: ignore[untyped-decorator]
def _task_finished(**_: Any) -> None:
    heartbeat.task_finished()


@app.task(name=SEND_TASK)  # type: ignore[untyped-decorator]
def send(delivery_id: int) -> None:
    SendService(get_runtime()).send(delivery_id)


@app.task(name=CHECK_TASK)  # type: ignore[untyped-decorator]
def check(delivery_id: int) -> None:
    SendService(get_runtime()).check(delivery_id)


@app.task(name=INBOX_TASK)  # type: ignore[untyped-decorator]
def read_inbox(account: str) -> None:
    InboxSweep(get_runtime()).read_page(account)


@app.task(name=WEBHOOK_TASK)  # type: ignore[untyped-decorator]
def deliver_webhook(event_id: int) -> None:
    WebhookSender(get_runtime()).deliver(event_id)
