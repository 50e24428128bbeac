"""What an operator does with webhooks (`outreach webhooks …`, and the API if it wants):
add, remove and test an endpoint, bring dead events back. Each returns values."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from worker.errors import WebhookError, WebhookSecretError
from worker.models import WebhookEndpoint
from worker.runtime import Runtime
from worker.webhooks.delivery import Answer, send_now
from worker.webhooks.events import parse_event_names, test_event
from worker.webhooks.signing import DEFAULT_SECRET_ENV, check_variable_name, secret_key


@dataclass(frozen=True)
class Added:
    endpoint: WebhookEndpoint
    secret_problem: str | None  # why the secret variable is not usable here, if it is not


def add_endpoint(
    runtime: Runtime,
    url: str,
    events: str,
    secret_env: str = DEFAULT_SECRET_ENV,
    environ: Mapping[str, str] | None = None,
) -> Added:
    """Register a receiver of `events` (short names, comma-separated), its events signed with
    the secret the variable `secret_env` holds (checked in `environ`, default this process's
    environment: the workers need it too)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"{url!r} is not an http(s) URL")
    types = parse_event_names(events)
    check_variable_name(secret_env)
    endpoint_id = runtime.webhooks.add_endpoint(
        url, [t.value for t in types], secret_env, datetime.now(UTC)
    )
    runtime.outbox.forget()
    problem = None
    try:
        secret_key(secret_env, os.environ if environ is None else environ)
    except WebhookSecretError as exc:
        problem = str(exc)
    return Added(endpoint(runtime, endpoint_id), problem)


def endpoint(runtime: Runtime, endpoint_id: int) -> WebhookEndpoint:
    found = runtime.webhooks.endpoint(endpoint_id)
    if found is None:
        known = ", ".join(str(e.id) for e in runtime.webhooks.endpoints()) or "none"
        raise WebhookError(f"no webhook endpoint {endpoint_id} (endpoints: {known})")
    return found


def remove_endpoint(runtime: Runtime, endpoint_id: int) -> int:
    """Delete an endpoint and its events; how many were not delivered yet."""
    dropped = runtime.webhooks.remove_endpoint(endpoint_id)
    if dropped is None:
        endpoint(runtime, endpoint_id)  # raises, naming the endpoints there are
        raise WebhookError(f"no webhook endpoint {endpoint_id}")
    runtime.outbox.forget()
    return dropped


def test_endpoint(
    runtime: Runtime, endpoint_id: int, environ: Mapping[str, str] | None = None
) -> Answer:
    """POST one signed `webhook.test` event to the endpoint now, outside the outbox."""
    target = endpoint(runtime, endpoint_id)
    event = test_event(target, datetime.now(UTC))
    return send_now(runtime.webhook_http, target, event, os.environ if environ is None else environ)


def retry_dead(runtime: Runtime, event_ids: Sequence[int] | None) -> list[int]:
    """Dead events (these, or all when None) pending again and due now; their ids."""
    revived = runtime.webhooks.revive(event_ids, datetime.now(UTC))
    for event_id, due in revived:
        runtime.due_index.schedule_webhook(event_id, due.timestamp())
    if event_ids is not None:
        missing = sorted(set(event_ids) - {i for i, _ in revived})
        if missing:
            raise WebhookError(
                f"not dead, so not retried: {', '.join(map(str, missing))}"
                + (f" (retried: {', '.join(str(i) for i, _ in revived)})" if revived else "")
            )
    return [i for i, _ in revived]
