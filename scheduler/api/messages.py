"""`POST /v1/messages`: one message, as `outreach send` takes it. With an `Idempotency-Key`
header the same key and body give the same delivery, and the same key with another body is
a 409; without one, the same message (account, recipient, text…) is one delivery anyway."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from scheduler.api.auth import Writer
from scheduler.api.problems import ProblemError
from scheduler.idempotency import api_key_for
from scheduler.producer import Enqueued, Enqueuer, Message
from worker.errors import InvalidMessageError, Problem
from worker.models import Delivery
from worker.providers.base import MediaFile
from worker.recipients import parse_recipient

router = APIRouter(prefix="/v1", tags=["messages"])

MAX_IDEMPOTENCY_KEY = 255


class MediaFileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: str = Field(examples=["image/png"])
    data_base64: str = Field(description="The file's bytes, base64-encoded.")


class MessageIn(BaseModel):
    """The fields of `outreach send`."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(description="Sender account from the accounts file.", min_length=1)
    to: str = Field(description="Profile URL, public profile id or profile URN.", min_length=1)
    text: str = Field(description="The message.")
    subject: str | None = Field(default=None, description="Subject (ConnectSafely).")
    inmail: bool = Field(default=False, description="Send as InMail (ConnectSafely).")
    media_link: str | None = Field(default=None, description="Attachment URL (LinkUp).")
    media_file: MediaFileIn | None = Field(default=None, description="Attachment (LinkUp).")
    conversation: str | None = Field(default=None, description="Reply into this conversation.")


class EnqueuedOut(BaseModel):
    id: int
    created: bool = Field(description="False: this message was already recorded.")
    status: str
    url: str = Field(description="Where to follow it: GET this.")


def _media(body: MessageIn) -> MediaFile | None:
    if body.media_file is None:
        return None
    try:
        data = base64.b64decode(body.media_file.data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessageError(
            [Problem("media_file.data_base64", "is not base64; encode the file's bytes")]
        ) from None
    return MediaFile(body.media_file.content_type, data)


def _same_message(stored: Delivery, message: Message) -> bool:
    """Whether `stored` records `message`: what an idempotency key's replay must repeat."""
    try:
        recipient = parse_recipient(message.to).value
    except ValueError:
        return False
    media = message.media_file
    media_base64 = base64.b64encode(media.data).decode() if media else None
    given: tuple[Any, ...] = (
        message.account, recipient, message.text, message.subject, message.inmail,
        message.media_link, media.content_type if media else None, media_base64,
        message.conversation,
    )  # fmt: skip
    kept: tuple[Any, ...] = (
        stored.account, stored.recipient, stored.text, stored.subject, stored.inmail,
        stored.media_link, stored.media_type, stored.media_base64, stored.conversation,
    )  # fmt: skip
    return given == kept


@router.post(
    "/messages",
    status_code=201,
    responses={200: {"description": "Already recorded (the same message or key)"}},
)
async def post_message(
    body: MessageIn,
    request: Request,
    response: Response,
    caller: Writer,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=MAX_IDEMPOTENCY_KEY,
            description="Repeat a request safely: the same key and body give the same delivery.",
        ),
    ] = None,
) -> EnqueuedOut:
    """Validate, record and queue one message."""
    message = Message(
        account=body.account,
        to=body.to,
        text=body.text,
        subject=body.subject,
        inmail=body.inmail,
        media_link=body.media_link,
        media_file=_media(body),
        conversation=body.conversation,
        idempotency_key=None if idempotency_key is None else api_key_for(idempotency_key),
    )
    enqueuer: Enqueuer = request.app.state.enqueuer
    result: Enqueued = await asyncio.wrap_future(enqueuer.submit(message))
    if idempotency_key is not None and not result.created:
        stored = await asyncio.to_thread(request.app.state.runtime.store.get, result.delivery_id)
        if stored is None or not _same_message(stored, message):
            raise ProblemError(
                409, "idempotency-key-reused", "Idempotency key already used",
                "this Idempotency-Key was used for another message; use a new key for a new"
                f" message (the first is delivery {result.delivery_id})",
            )  # fmt: skip
    if not result.created:
        response.status_code = 200
    url = str(request.url_for("get_delivery", delivery_id=result.delivery_id).path)
    response.headers["Location"] = url
    return EnqueuedOut(
        id=result.delivery_id, created=result.created, status=result.status.value, url=url
    )
