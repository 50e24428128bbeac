"""What the three sandboxed providers share: the request and answer types, and the common
course of a send request (count it, apply a fault, validate, deliver)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from worker.sandbox.faults import Fault
from worker.sandbox.state import SandboxState


@dataclass(frozen=True)
class Call:
    """An HTTP request as a sandbox handler sees it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any  # parsed JSON, or None when the body was absent or not JSON


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # answer this much later (the message is already delivered)
    drop: bool = False  # close the connection without answering


@dataclass(frozen=True)
class Dialect:
    """How one provider words its errors and its rate limits."""

    provider: str
    error: Callable[[int, str], Answer]
    rate_limited: Callable[[Fault], Answer]


def run_send(
    state: SandboxState,
    call: Call,
    dialect: Dialect,
    sender: str,
    *,
    validate: Callable[[], Answer | None],
    accept: Callable[[Fault | None], Answer],
) -> Answer:
    """The course of every send request, after authentication and required fields."""
    state.note_send_request(dialect.provider, call.path, sender)
    fault = state.take_fault(dialect.provider, call.path, sender)
    if fault is not None and not fault.delivers:
        return fault_answer(fault, dialect)
    refused = validate()
    if refused is not None:
        return refused
    answer = accept(fault)
    if fault is not None:
        if fault.kind == "slow":
            answer.delay_s = fault.delay_s
        elif fault.kind == "drop":
            answer.drop = True
        elif fault.kind == "respond":
            answer = Answer(fault.status, fault.body, dict(fault.headers))
    return answer


def fault_answer(fault: Fault, dialect: Dialect) -> Answer:
    if fault.kind == "rate_limit":
        return dialect.rate_limited(fault)
    if fault.kind == "respond":
        return Answer(fault.status, fault.body, dict(fault.headers))
    return dialect.error(fault.status, fault.error or _DEFAULT_ERRORS.get(fault.status, "Error"))


_DEFAULT_ERRORS = {
    400: "Bad request",
    401: "Invalid API Key",
    403: "Forbidden",
    404: "Not found",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def required_strings(body: Any, *names: str) -> str | None:
    """The first of `names` missing from `body` or not a non-empty string."""
    if not isinstance(body, dict):
        return names[0]
    for name in names:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            return name
    return None


def fake_id(seed: str) -> str:
    """A stable made-up identifier, so the same sender and recipient get the same conversation."""
    return hashlib.sha256(seed.encode()).hexdigest()[:24]


def fake_member_id(seed: str) -> str:
    """A stable made-up LinkedIn member id in the ACoAA… form."""
    return "ACoAA" + fake_id(seed)[:20]
