"""The baseline for the throughput benchmark: a bare Celery task making the same HTTP call as
the pipeline, with the same broker settings and no pacing, records or claims."""

from __future__ import annotations

import os
from typing import Any

import httpx
from celery import Celery

from worker.celery_app import BROKER_SETTINGS

app = Celery("bare", broker=os.environ.get("BARE_BROKER", "redis://127.0.0.1:6379/15"))
app.conf.update(BROKER_SETTINGS, task_default_queue="bare")
_clients: dict[int, httpx.Client] = {}


@app.task(name="bare.send")  # type: ignore[untyped-decorator]
def send(url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    client = _clients.get(os.getpid())
    if client is None:  # one pooled client per process, as the pipeline has
        client = _clients[os.getpid()] = httpx.Client(timeout=30)
    client.post(url, json=body, headers=headers)
