"""Celery tasks: shims that hand a delivery id to the send service."""

from __future__ import annotations

from worker.celery_app import CHECK_TASK, SEND_TASK, app
from worker.runtime import get_runtime
from worker.sending import SendService


@app.task(name=SEND_TASK)  # type: ignore[untyped-decorator]
def send(delivery_id: int) -> None:
    SendService(get_runtime()).send(delivery_id)


@app.task(name=CHECK_TASK)  # type: ignore[untyped-decorator]
def check(delivery_id: int) -> None:
    SendService(get_runtime()).check(delivery_id)
