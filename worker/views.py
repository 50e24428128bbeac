"""What users see of a delivery: its public fields, as `outreach deliveries --json` prints them
and webhooks carry them (never the text, media or anything secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worker.models import Delivery

# The public fields, in order.
DELIVERY_FIELDS = (
    "id", "campaign", "step", "variant", "account", "provider", "recipient", "status", "attempts",
    "rate_limits", "error", "message_urn", "conversation_id", "task_id", "thread_id",
    "recipient_urn", "created_at", "due_at", "sent_at", "updated_at",
)  # fmt: skip


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """`delivery`'s public fields, JSON-ready (times in ISO 8601)."""
    view: dict[str, Any] = {}
    for name in DELIVERY_FIELDS:
        value = getattr(delivery, name)
        view[name] = value.isoformat() if isinstance(value, datetime) else value
    return view
