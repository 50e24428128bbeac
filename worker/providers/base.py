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
from enum import StrEnum
from typing import Any, ClassVar

import httpx

from worker.accounts import Account, ProviderName
from worker.errors import Problem
from worker.providers.answers import Answer, outcome_for, status_row
from worker.providers.http import Reply, error_text, exchange
from worker.providers.outcomes import (
    Failure,
    FetchOutcome,
    ProfileOutcome,
    Rejected,
    SendOutcome,
    TaskOutcome,
)
from worker.providers.ratelimits import retry_at
from worker.providers.reads import ConversationQuery, ConversationRead, InboxRead, ReadFailed
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


class Capability(StrEnum):
    """What a provider's API documents it can do; callers ask for one, never for a class."""

    SEND = "send"
    CHECK_TASK = "check_task"  # a send is a task whose status is checked later (OutX)
    READ_CONVERSATION = "read_conversation"  # a conversation's newest messages
    READ_INBOX = "read_inbox"  # the account's conversations, most recent activity first
    # A recipient given by profile URL or public id is first looked up, as a task, for the URN
    # sends need (OutX Fetch Profile); see `needs_profile_urn`.
    RESOLVE_PROFILE = "resolve_profile"


class Provider(ABC):
    """A provider adapter: validation rules plus the send call, and whatever else its
    `capabilities` declare.

    An adapter names which row of the outcome table (`worker.providers.answers`) an answer
    is, from what its documentation says; `classify` does the rest the same way for all.
    """

    name: ClassVar[ProviderName]
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SEND})
    max_text_chars: ClassVar[int]
    # Where the limit comes from, for the error message: the provider's docs or our own rule.
    text_limit_source: ClassVar[str]

    def __init__(self, client: httpx.Client, base_url: str, clock: Clock = utc_now):
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    @classmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        """Every reason this provider would refuse `request`; empty when it may be queued."""
        return cls.check_addressed(request.recipient, request.text) + cls.check_options(request)

    @classmethod
    def check_addressed(cls, recipient: Recipient, text: str) -> list[Problem]:
        """The rules about who and what alone. A campaign checks its steps' other fields once
        (`check_options`) and only these for each of its recipients."""
        return cls.check_text(text) + cls.check_recipient(recipient)

    @classmethod
    def check_text(cls, text: str) -> list[Problem]:
        """Why this provider would refuse `text`."""
        return check_text(text, cls.max_text_chars, cls.text_limit_source)

    @classmethod
    def check_recipient(cls, recipient: Recipient) -> list[Problem]:
        """Why this provider cannot reach `recipient` (every form is fine unless it says)."""
        return []

    @classmethod
    @abstractmethod
    def check_options(cls, request: SendRequest) -> list[Problem]:
        """Why this provider would refuse the request's other fields: subject, InMail, media,
        the conversation to reply into."""

    @abstractmethod
    def send(self, account: Account, request: SendRequest) -> SendOutcome:
        """Make the provider call and say what it came to."""

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def check_task(self, account: Account, task_id: str) -> TaskOutcome:
        """Where a send's task stands (only with Capability.CHECK_TASK)."""
        raise NotImplementedError(f"{self.name} has no tasks to check")

    @classmethod
    def needs_profile_urn(cls, recipient: Recipient) -> bool:
        """Whether `recipient` must be resolved to a profile URN before a send (only with
        Capability.RESOLVE_PROFILE)."""
        return False

    def start_profile_fetch(self, account: Account, recipient: Recipient) -> FetchOutcome:
        """Ask for `recipient`'s profile, as a task (only with Capability.RESOLVE_PROFILE)."""
        raise NotImplementedError(f"{self.name} documents no way to resolve a profile")

    def profile_fetch(self, account: Account, task_id: str) -> ProfileOutcome:
        """Where a profile fetch's task stands (only with Capability.RESOLVE_PROFILE)."""
        raise NotImplementedError(f"{self.name} documents no way to resolve a profile")

    def read_conversation(self, account: Account, query: ConversationQuery) -> ConversationRead:
        """The newest messages with a recipient (only with Capability.READ_CONVERSATION)."""
        raise NotImplementedError(f"{self.name} documents no way to read a conversation")

    def read_inbox(self, account: Account, cursor: str | None) -> InboxRead:
        """One page of the account's inbox (only with Capability.READ_INBOX)."""
        raise NotImplementedError(f"{self.name} documents no way to read an inbox")

    def read(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply | ReadFailed:
        """Make one read request; anything but a 2xx JSON object is a failed read."""
        url = self.base_url + path
        reply = exchange(self.client, method, url, headers=headers, json=body, params=params)
        if not isinstance(reply, Reply):
            return ReadFailed(reply.reason)
        if not 200 <= reply.status < 300 or not isinstance(reply.body, dict):
            return self.read_failure(reply)
        return reply

    def read_failure(self, reply: Reply) -> ReadFailed:
        """What a read's error answer means for the account: the send table's rules (a rate
        limit pauses it for a while, HTTP 401/402 until resumed); else the read is retried."""
        reason = error_text(reply) if reply.body is not None else f"HTTP {reply.status}, not JSON"
        if reply.status == 429 or mentions_rate_limit(reason):
            return ReadFailed(reason, reply.status, "rate_limit", self.retry_hint(reply))
        if reply.status in (401, 402):
            return ReadFailed(reason, reply.status, "credentials")
        return ReadFailed(reason, reply.status)

    @abstractmethod
    def is_success(self, body: dict[str, Any]) -> bool:
        """Whether a 2xx JSON body is in the documented success form."""

    @abstractmethod
    def success(self, body: dict[str, Any], reply: Reply, request: SendRequest) -> SendOutcome:
        """The outcome of a documented success (Sent, or OutX's Accepted)."""

    def is_error_form(self, body: dict[str, Any]) -> bool:
        """Whether a 2xx JSON body is the provider's documented way of saying it failed."""
        return False

    def recognise_error(self, status: int, reason: str) -> Answer | None:
        """The row of an error answer the provider's docs name; None when they name none."""
        return None

    def retry_hint(self, reply: Reply) -> datetime | None:
        """When a rate-limited account may send again, if the answer says."""
        return retry_at(reply.headers, self.clock())

    def refuse_invalid(self, request: SendRequest) -> Rejected | None:
        """A Rejected outcome, without any HTTP, for a request `check()` refuses."""
        problems = self.check(request)
        if not problems:
            return None
        return Rejected("; ".join(str(p) for p in problems))

    def post(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply | Failure:
        """Send one request; a transport failure is already its table row's outcome."""
        reply = exchange(self.client, "POST", self.base_url + path, headers=headers, json=body)
        if isinstance(reply, Reply):
            return reply
        return outcome_for(Answer.NO_ANSWER if reply.written else Answer.NOT_SENT, reply.reason)

    def classify(self, reply: Reply, request: SendRequest) -> SendOutcome:
        answer = self.answer_of(reply)
        if answer is Answer.SUCCESS:
            return self.success(reply.body, reply, request)
        return outcome_for(answer, error_text(reply), reply.status, self.retry_hint(reply))

    def answer_of(
        self, reply: Reply, recognise: Callable[[int, str], Answer | None] | None = None
    ) -> Answer:
        """Which row of the outcome table `reply` is (the table's order is the rules' order);
        `recognise` names the documented errors when they are not the send's."""
        by_status = status_row(reply.status)
        if by_status is not None:
            return by_status
        if reply.body is None:
            return Answer.NOT_JSON
        body = reply.body if isinstance(reply.body, dict) else {}
        if 200 <= reply.status < 300:
            if self.is_success(body):
                return Answer.SUCCESS
            if not self.is_error_form(body):
                return Answer.UNREADABLE_SUCCESS
        if reply.status in (401, 402):
            return Answer.CREDENTIALS
        reason = error_text(reply)
        if mentions_rate_limit(reason):
            return Answer.RATE_LIMIT_ERROR
        named = (recognise or self.recognise_error)(reply.status, reason)
        return named or Answer.UNRECOGNISED_ERROR


def mentions_rate_limit(text: str) -> bool:
    lowered = text.lower()
    return "rate limit" in lowered or "too many requests" in lowered


def check_text(text: str, max_chars: int, source: str) -> list[Problem]:
    if not text.strip():
        return [Problem("text", "must not be empty or only whitespace")]
    if len(text) > max_chars:
        return [Problem("text", f"is {len(text)} characters; {source} is {max_chars}")]
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


def as_object(value: object) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
