"""The Celery application. Tasks carry delivery ids (or, for an inbox read, an account name;
for a webhook, an outbox event id) only, never credentials or text; nothing
waits inside Celery (no ETA or countdown): only due work is ever published.

Importing this module has no side effects; `connect()` points the app at the broker.
"""

from __future__ import annotations

from celery import Celery

from worker.keys import CELERY_QUEUE
from worker.redis_connect import celery_broker

SEND_TASK = "outreach.send"
CHECK_TASK = "outreach.check"
INBOX_TASK = "outreach.read_inbox"
WEBHOOK_TASK = "outreach.webhook"
QUEUE = CELERY_QUEUE

TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Shared with the benchmark's bare-task baseline, so the comparison runs on equal terms.
BROKER_SETTINGS = {
    "task_serializer": "json",
    "accept_content": ["json"],
    "task_ignore_result": True,
    # A killed worker's task is redelivered; the claim keeps that from sending twice.
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_transport_options": TRANSPORT_OPTIONS,
    "broker_connection_retry_on_startup": True,
    "worker_hijack_root_logger": False,
    "worker_redirect_stdouts": False,
}

app = Celery("outreach")
app.conf.update(BROKER_SETTINGS, task_default_queue=QUEUE, imports=("worker.tasks",))


def connect(redis_url: str) -> Celery:
    """Use the Redis at `redis_url` as the broker (through its Sentinels, for a Sentinel URL)."""
    url, transport_options = celery_broker(redis_url)
    app.conf.broker_url = url
    app.conf.broker_transport_options = {**TRANSPORT_OPTIONS, **transport_options}
    return app
