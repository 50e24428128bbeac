"""The one interface every provider adapter implements, and what they share.

An adapter turns a `SendRequest` plus the sending `Account` into a typed outcome over an
injected `httpx.Client`. `check()` is the same rule set, callable without a client, for
refusing bad input at enqueue time.
"""

from __future__ import annotations

import base64
import binascii
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import httpx

from worker.accounts import Account, ProviderName
from worker.errors import Problem
from worker.providers.http import Reply, error_text
from worker.providers.outcomes import (
    Failure,
    RateLimited,
    Rejected,
    SendOutcome,
    Transient,
    Unknown,
)
from worker.providers.ratelimits import retry_at
from worker.recipients import Recipient

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MediaFile:
    """An attachment carried inline (LinkUp's `media_file`)."""

    content_type: str
    data: bytes

    def as_data_url(self) -> str:
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    @classmethod
    def from_base64(cls, text: str, content_type: str = "application/octet-stream") -> MediaFile:
        """Accept base64 with or without a `data:<type>;base64,` prefix; ValueError if neither."""
        payload = text
        if text.startswith("data:"):
            header, sep, payload = text.partition(",")
            if not sep or not header.endswith(";base64"):
                raise ValueError("a data: URL must look like data:<type>;base64,<data>")
            content_type = header[len("data:") : -len(";base64")] or content_type
        try:
            return cls(content_type, base64.b64decode(payload, validate=True))
        except binascii.Error as exc:
            raise ValueError(f"not valid base64: {exc}") from None


@dataclass(frozen=True)
class SendRequest:
    """One message to send, independent of provider."""

    recipient: Recipient
    text: str
    subject: str | None = None
    inmail: bool = False
    media_link: str | None = None
    media_file: MediaFile | None = None
    conversation_urn: str | None = None  # reply into this existing conversation


class Provider(ABC):
    """A provider adapter: validation rules plus the send call."""

    name: ClassVar[ProviderName]
    max_text_chars: ClassVar[int]

    def __init__(self, client: httpx.Client, base_url: str, clock: Clock = utc_now):
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    @classmethod
    @abstractmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        """Every reason this provider would refuse `request`; empty when it may be queued."""

    @abstractmethod
    def send(self, account: Account, request: SendRequest) -> SendOutcome:
        """Make the provider call and say what it came to."""

    def refuse_invalid(self, request: SendRequest) -> Rejected | None:
        """A Rejected outcome, without any HTTP, for a request `check()` refuses."""
        problems = self.check(request)
        if not problems:
            return None
        return Rejected("; ".join(str(p) for p in problems))

    def classify_failure(self, reply: Reply, hold_until: object = None) -> Failure:
        """The meaning of a non-success answer when the provider adds nothing specific."""
        reason = error_text(reply)
        status = reply.status
        if status == 429 or mentions_rate_limit(reason):
            return RateLimited(reason, retry_at(reply.headers, self.clock(), hold_until), status)
        if status in (401, 402, 403):
            return Rejected(reason, account_level=True, http_status=status)
        if status in (502, 503, 504):
            return Transient(reason, status)
        if status >= 500:
            # The server failed while handling the request: it may have sent the message.
            return Unknown(reason, status)
        if 200 <= status < 300:
            return Unknown(f"unreadable success answer: {reason}", status)
        return Rejected(reason, http_status=status)


def mentions_rate_limit(text: str) -> bool:
    lowered = text.lower()
    return "rate limit" in lowered or "too many requests" in lowered


def check_text(text: str, max_chars: int) -> list[Problem]:
    if not text.strip():
        return [Problem("text", "must not be empty or only whitespace")]
    if len(text) > max_chars:
        return [Problem("text", f"is {len(text)} characters; the limit is {max_chars}")]
    return []


def unsupported(request: SendRequest, provider: str, *fields: str) -> list[Problem]:
    """Problems for each field set on `request` that `provider` has no way to send."""
    return [
        Problem(field, f"{provider} cannot send this; remove it or use another provider")
        for field in fields
        if getattr(request, field)
    ]


def parse_epoch_ms(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
