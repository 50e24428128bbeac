"""What a webhook says: the event types, their payloads (`{"type", "timestamp", "data"}`, as
Standard Webhooks recommends) and the fan-out of one event to the endpoints subscribed to it.
Pure: no I/O, time given."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from worker.errors import WebhookError
from worker.models import Delivery, Status, WebhookEndpoint
from worker.recipient_store import NewReply
from worker.views import delivery_view
from worker.webhooks.store import OutboxRow


class EventType(StrEnum):
    """An event's `type` on the wire."""

    SENT = "delivery.sent"
    FAILED = "delivery.failed"
    UNKNOWN = "delivery.unknown"
    REPLIED = "recipient.replied"
    ACCOUNT_PAUSED = "account.paused"
    TEST = "webhook.test"  # `outreach webhooks test`: sent at once, never from the outbox


# The names `outreach webhooks add --events` takes.
SHORT_NAMES = {
    "sent": EventType.SENT,
    "failed": EventType.FAILED,
    "unknown": EventType.UNKNOWN,
    "replied": EventType.REPLIED,
    "account_paused": EventType.ACCOUNT_PAUSED,
}
DELIVERY_EVENTS = {
    Status.SENT: EventType.SENT,
    Status.FAILED: EventType.FAILED,
    Status.UNKNOWN: EventType.UNKNOWN,
}


def parse_event_names(text: str) -> tuple[EventType, ...]:
    """`sent,failed,…` (short names or wire types) as event types, in the order given."""
    found: list[EventType] = []
    unknown: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        wanted = SHORT_NAMES.get(name) or next((t for t in SHORT_NAMES.values() if t == name), None)
        if wanted is None:
            unknown.append(name)
        elif wanted not in found:
            found.append(wanted)
    if unknown or not found:
        raise WebhookError(
            f"unknown event {', '.join(map(repr, unknown)) or '(none given)'}:"
            f" choose from {', '.join(SHORT_NAMES)}"
        )
    return tuple(found)


def short_name(event_type: str) -> str:
    return next((short for short, t in SHORT_NAMES.items() if t == event_type), event_type)


@dataclass(frozen=True)
class Event:
    """One event, before fan-out: its `webhook-id` is the same for every endpoint and retry."""

    type: EventType
    message_id: str
    payload: str  # the JSON body, exactly as signed and sent
    at: datetime


def new_event(event_type: EventType, data: Mapping[str, Any], at: datetime) -> Event:
    body = {"type": event_type.value, "timestamp": at.isoformat(), "data": dict(data)}
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Event(event_type, f"msg_{uuid.uuid4().hex}", payload, at)


def delivery_event(delivery: Delivery, at: datetime) -> Event | None:
    """`delivery.sent|failed|unknown` for a delivery as it ended; None for any other status."""
    event_type = DELIVERY_EVENTS.get(delivery.status)
    return None if event_type is None else new_event(event_type, delivery_view(delivery), at)


def replied_event(reply: NewReply, at: datetime) -> Event:
    """`recipient.replied`: who answered, to which sequence, and how it was found. Not the
    reply's text: that is the recipient's words; `outreach replies` has it."""
    data = {
        "recipient": reply.recipient,
        "account": reply.account,
        "campaign": reply.campaign,
        "step": reply.step,
        "conversation": reply.conversation,
        "received_at": reply.received_at.isoformat(),
        "how": reply.how.value,
    }
    return new_event(EventType.REPLIED, data, at)


def paused_event(
    account: str, reason: str, until: datetime | None, cause: str, at: datetime
) -> Event:
    """`account.paused`: `until` None means until an operator resumes it."""
    data = {
        "account": account,
        "reason": reason,
        "until": None if until is None else until.isoformat(),
        "cause": cause,
    }
    return new_event(EventType.ACCOUNT_PAUSED, data, at)


def test_event(endpoint: WebhookEndpoint, at: datetime) -> Event:
    data = {"endpoint_id": endpoint.id, "url": endpoint.url}
    return new_event(EventType.TEST, data, at)


def subscribed(endpoint: WebhookEndpoint) -> frozenset[str]:
    return frozenset(part for part in endpoint.events.split(",") if part)


def fan_out(endpoints: Sequence[WebhookEndpoint], events: Sequence[Event]) -> list[OutboxRow]:
    """One outbox row per (endpoint subscribed to it, event)."""
    rows = []
    for endpoint in endpoints:
        assert endpoint.id is not None
        wanted = subscribed(endpoint)
        for event in events:
            if event.type in wanted:
                rows.append(
                    OutboxRow(endpoint.id, event.message_id, event.type, event.payload, event.at)
                )
    return rows
