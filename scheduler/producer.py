"""The producer API: validate messages, write their delivery rows, then index them in Redis.

from scheduler.producer import enqueue_message
result = enqueue_message(runtime, account="alice", to="https://www.linkedin.com/in/jane",
                         text="Hi Jane")

Many at once cost one insert, one read and one Redis round trip: `enqueue_messages` takes a
list; `Enqueuer` groups what concurrent callers (an HTTP API's requests) hand it meanwhile.
"""

from __future__ import annotations

import base64
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from scheduler.idempotency import message_key
from worker.errors import (
    InvalidMessageError,
    Problem,
    UnknownAccountError,
    UnknownSenderError,
)
from worker.models import Status
from worker.providers import REGISTRY, check_request
from worker.providers.base import MediaFile, SendRequest
from worker.recipients import parse_recipient
from worker.runtime import Runtime


@dataclass(frozen=True)
class Enqueued:
    delivery_id: int
    created: bool  # False: a delivery with the same idempotency key already existed
    status: Status


@dataclass(frozen=True)
class Message:
    """One message to send, as a producer gives it."""

    account: str
    to: str
    text: str
    subject: str | None = None
    inmail: bool = False
    media_link: str | None = None
    media_file: MediaFile | None = None
    conversation: str | None = None
    campaign: str | None = None
    step: int = 0
    due_at: datetime | None = None
    idempotency_key: str | None = None


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
    message = Message(
        account, to, text, subject, inmail, media_link, media_file, conversation, campaign, step,
        due_at, idempotency_key,
    )  # fmt: skip
    return enqueue_messages(runtime, [message], now=now)[0]


def enqueue_messages(
    runtime: Runtime, messages: Sequence[Message], *, now: datetime | None = None
) -> list[Enqueued]:
    """Record and queue `messages` together, in their order; all or none.

    Raises InvalidMessageError listing every problem of every message (numbered from 1 when
    there are several), with nothing written.
    """
    created_at = now or datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for number, message in enumerate(messages, start=1):
        try:
            rows.append(_row(runtime, message, created_at))
        except InvalidMessageError as exc:
            if len(messages) == 1:
                raise
            problems += [replace(p, field=f"message {number}: {p.field}") for p in exc.problems]
    if problems:
        raise InvalidMessageError(problems)
    return _write(runtime, rows)


def _write(runtime: Runtime, rows: Sequence[dict[str, Any]]) -> list[Enqueued]:
    """Write `rows` (one insert), then index the queued ones (one Redis round trip)."""
    stored = runtime.store.insert_many(rows)
    # Existing queued rows too: indexing is idempotent and heals a lost index entry.
    runtime.due_index.enqueue(
        [(row.account, row.id, row.due_at.timestamp()) for row in stored if row.status == "queued"]
    )
    return [Enqueued(row.id, row.created, Status(row.status)) for row in stored]


def _row(runtime: Runtime, message: Message, created_at: datetime) -> dict[str, Any]:
    """The delivery row's columns for `message`, or InvalidMessageError. (A plain mapping:
    building a model object for each of thousands of rows would cost more than the insert.)"""
    # Every problem at once: a caller fixes them all in one go.
    problems: list[Problem] = []
    sender = runtime.accounts.find(message.account)
    if sender is None:
        unknown = UnknownAccountError(message.account, list(runtime.accounts))
        problems.append(Problem("account", str(unknown)))
    try:
        recipient = parse_recipient(message.to)
    except ValueError as exc:
        problems.append(Problem("recipient", str(exc)))
        if sender is not None:
            problems += REGISTRY[sender.provider].adapter.check_text(message.text)
        raise _refusal(message, problems) from None
    media = message.media_file
    request = SendRequest(
        recipient, message.text, message.subject, message.inmail, message.media_link, media,
        message.conversation,
    )  # fmt: skip
    if sender is not None:
        problems += check_request(sender.provider, request)
    if problems:
        raise _refusal(message, problems)
    assert sender is not None
    key = message.idempotency_key or message_key(
        message.account,
        recipient.value,
        message.text,
        subject=message.subject,
        campaign=message.campaign,
        step=message.step,
    )
    return {
        "idempotency_key": key,
        "campaign": message.campaign,
        "step": message.step,
        "account": message.account,
        "provider": sender.provider,
        "recipient": recipient.value,
        "text": message.text,
        "subject": message.subject,
        "inmail": message.inmail,
        "media_link": message.media_link,
        "media_type": media.content_type if media else None,
        "media_base64": base64.b64encode(media.data).decode() if media else None,
        "conversation": message.conversation,
        "status": Status.QUEUED,
        "created_at": created_at,
        "due_at": message.due_at or created_at,
        "updated_at": created_at,
    }


def _refusal(message: Message, problems: list[Problem]) -> InvalidMessageError:
    if problems[0].field == "account":
        return UnknownSenderError(message.account, problems)
    return InvalidMessageError(problems)


_STOP = object()


class Enqueuer:
    """Enqueue from many threads at once: each call waits for its own result, while a
    background thread writes whatever arrived meanwhile in one batch (group commit).

    with Enqueuer(runtime) as enqueuer:
        result = enqueuer.enqueue(Message(account="alice", to=..., text=...))
    """

    def __init__(self, runtime: Runtime, max_batch: int = 500):
        self.runtime = runtime
        self.max_batch = max_batch
        self._waiting: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="enqueuer", daemon=True)
        self._thread.start()

    def enqueue(self, message: Message) -> Enqueued:
        """Record and queue `message`; raises what `enqueue_message` would."""
        return self.submit(message).result()

    def submit(self, message: Message) -> Future[Enqueued]:
        """`enqueue` without waiting: the future holds its result (for asyncio callers)."""
        future: Future[Enqueued] = Future()
        self._waiting.put((message, future))
        return future

    def close(self) -> None:
        self._waiting.put(_STOP)
        self._thread.join()

    def __enter__(self) -> Enqueuer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batch
            pending = [item for item in batch if item is not _STOP]
            if pending:
                self._write(pending)  # type: ignore[arg-type]
            if stop:
                return

    def _write(self, pending: list[tuple[Message, Future[Enqueued]]]) -> None:
        # Each message is checked on its own, so one caller's mistake is not another's.
        rows: list[dict[str, Any]] = []
        waiting: list[Future[Enqueued]] = []
        now = datetime.now(UTC)
        for message, future in pending:
            try:
                rows.append(_row(self.runtime, message, now))
            except Exception as exc:  # the caller's, whatever it is: this thread serves all
                future.set_exception(exc)
            else:
                waiting.append(future)
        if not rows:
            return
        try:
            results = _write(self.runtime, rows)
        except Exception as exc:  # the database or Redis failed: every caller hears of it
            for future in waiting:
                future.set_exception(exc)
            return
        for future, result in zip(waiting, results, strict=True):
            future.set_result(result)
