"""Delivering one outbox event: sign it, POST it, record what the receiver said; on a refusal
retry with exponential back-off (`retry_at`, pure) until the give-up time, then `dead`. The
database is written first, the due-time index after."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from worker.errors import WebhookSecretError
from worker.logs import get_logger
from worker.models import WebhookEndpoint
from worker.redaction import redact
from worker.runtime import Runtime
from worker.webhooks.events import Event
from worker.webhooks.signing import secret_key, signed_headers
from worker.webhooks.store import PENDING

log = get_logger("outreach.webhooks")

ERROR_CHARS = 300  # how much of a refusal's body is kept in last_error


def retry_at(
    created_at: datetime,
    attempts: int,
    now: datetime,
    *,
    first_s: float,
    max_gap_s: float,
    give_up_s: float,
) -> datetime | None:
    """When to try again after the `attempts`-th attempt failed at `now`: `first_s`, doubling
    each time, at most `max_gap_s` apart; the last try is at `give_up_s` after `created_at`,
    and None (dead) once that is past."""
    give_up_at = created_at + timedelta(seconds=give_up_s)
    if now >= give_up_at:
        return None
    gap_s = min(first_s * 2 ** min(max(attempts - 1, 0), 60), max_gap_s)
    return min(now + timedelta(seconds=gap_s), give_up_at)


@dataclass(frozen=True)
class Answer:
    """What one POST came to: the receiver's HTTP status, and why it did not take it."""

    status: int | None
    error: str | None  # None: a 2xx

    @property
    def taken(self) -> bool:
        return self.error is None


def post(
    client: httpx.Client,
    endpoint: WebhookEndpoint,
    event: Event | tuple[str, str],
    environ: Mapping[str, str],
    now: float,
) -> Answer:
    """Sign and POST one event (an `Event`, or a stored one as (message id, payload)) to
    `endpoint`. Every failure is an `Answer`: httpx's exceptions end here."""
    message_id, payload = (event.message_id, event.payload) if isinstance(event, Event) else event
    try:
        key = secret_key(endpoint.secret_env, environ)
    except WebhookSecretError as exc:
        return Answer(None, str(exc))
    headers = signed_headers(key, message_id, int(now), payload)
    try:
        response = client.post(endpoint.url, content=payload.encode(), headers=headers)
    except httpx.TimeoutException as exc:
        return Answer(None, f"no answer in time ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Answer(None, redact(f"{type(exc).__name__}: {exc}")[:ERROR_CHARS])
    if 200 <= response.status_code < 300:
        return Answer(response.status_code, None)
    body = redact(response.text.strip())[:ERROR_CHARS]
    error = f"HTTP {response.status_code}" + (f": {body}" if body else "")
    return Answer(response.status_code, error)


class WebhookSender:
    """What the `outreach.webhook` task does with one event id."""

    def __init__(self, runtime: Runtime, environ: Mapping[str, str] | None = None):
        self.runtime = runtime
        self.environ = os.environ if environ is None else environ

    def deliver(self, event_id: int, now: datetime | None = None) -> Answer | None:
        """Attempt one pending event; None when it is not pending (delivered, dead, removed)."""
        rt = self.runtime
        found = rt.webhooks.event(event_id)
        if found is None or found[0].state != PENDING:
            rt.due_index.drop_webhook(event_id)
            return None
        event, endpoint = found
        moment = now or datetime.now(UTC)
        answer = post(
            rt.webhook_http,
            endpoint,
            (event.message_id, event.payload),
            self.environ,
            moment.timestamp(),
        )
        if answer.taken:
            assert answer.status is not None
            rt.webhooks.delivered(event_id, answer.status, datetime.now(UTC))
            rt.due_index.drop_webhook(event_id)
            log.info("webhook_delivered", event_id=event_id, event_type=event.event_type)
            return answer
        settings = rt.settings
        ended = datetime.now(UTC) if now is None else moment
        again = retry_at(
            event.created_at,
            event.attempts + 1,
            ended,
            first_s=settings.webhook_retry_first_seconds,
            max_gap_s=settings.webhook_retry_max_seconds,
            give_up_s=settings.webhook_give_up_seconds,
        )
        assert answer.error is not None
        if rt.webhooks.failed(event_id, answer.status, answer.error, ended, again):
            if again is None:
                rt.due_index.drop_webhook(event_id)
            else:
                rt.due_index.schedule_webhook(event_id, again.timestamp())
        log.warning(
            "webhook_dead" if again is None else "webhook_refused",
            event_id=event_id,
            event_type=event.event_type,
            status=answer.status,
            error=answer.error,
            attempts=event.attempts + 1,
        )
        return answer


def send_now(
    client: httpx.Client, endpoint: WebhookEndpoint, event: Event, environ: Mapping[str, str]
) -> Answer:
    """Sign and POST `event` at once, outside the outbox (`outreach webhooks test`)."""
    return post(client, endpoint, event, environ, time.time())
