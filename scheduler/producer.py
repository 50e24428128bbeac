"""The producer API: validate a message, write its delivery row, then index it in Redis.

from scheduler.producer import enqueue_message
result = enqueue_message(runtime, account="alice", to="https://www.linkedin.com/in/jane",
                         text="Hi Jane")
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from scheduler.idempotency import message_key
from worker.errors import InvalidMessageError, Problem
from worker.models import Delivery, Status
from worker.providers import check_request
from worker.providers.base import MediaFile, SendRequest
from worker.recipients import parse_recipient
from worker.runtime import Runtime


@dataclass(frozen=True)
class Enqueued:
    delivery_id: int
    created: bool  # False: a delivery with the same idempotency key already existed
    status: Status


def enqueue_message(
    runtime: Runtime,
    *,
    account: str,
    to: str,
    text: str,
    subject: str | None = None,
    inmail: bool = False,
    media_link: str | None = None,
    media_file: MediaFile | None = None,
    conversation: str | None = None,
    campaign: str | None = None,
    step: int = 0,
    due_at: datetime | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Enqueued:
    """Record one message and queue it; enqueueing the same message twice creates one delivery.

    Raises InvalidMessageError listing every problem, with nothing written.
    """
    sender = runtime.accounts[account]
    try:
        recipient = parse_recipient(to)
    except ValueError as exc:
        raise InvalidMessageError([Problem("recipient", str(exc))]) from None
    request = SendRequest(recipient, text, subject, inmail, media_link, media_file, conversation)
    problems = check_request(sender.provider, request)
    if problems:
        raise InvalidMessageError(problems)

    created_at = now or datetime.now(UTC)
    due = due_at or created_at
    key = idempotency_key or message_key(
        account, recipient.value, text, subject=subject, campaign=campaign, step=step
    )
    row = Delivery(
        idempotency_key=key,
        campaign=campaign,
        step=step,
        account=account,
        provider=sender.provider,
        recipient=recipient.value,
        text=text,
        subject=subject,
        inmail=inmail,
        media_link=media_link,
        media_type=media_file.content_type if media_file else None,
        media_base64=base64.b64encode(media_file.data).decode() if media_file else None,
        conversation=conversation,
        status=Status.QUEUED,
        created_at=created_at,
        due_at=due,
        updated_at=created_at,
    )
    stored, created = runtime.store.insert(row)
    assert stored.id is not None
    if stored.status == Status.QUEUED:
        # Also for an existing row: indexing is idempotent and heals a lost index entry.
        runtime.due_index.index(stored)
    return Enqueued(stored.id, created, stored.status)
