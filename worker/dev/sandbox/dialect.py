"""What the three sandboxed providers share: the request and answer types, and the common
course of a send request (count it, apply a fault, validate, deliver) and of a read request
(count it, apply a fault, serve)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from worker.dev.sandbox.faults import Fault, FaultKind
from worker.dev.sandbox.state import SandboxState


@dataclass(frozen=True)
class Call:
    """An HTTP request as a sandbox handler sees it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any  # parsed JSON, or None when the body was absent or not JSON


JSON = "application/json"


@dataclass
class Answer:
    status: int
    body: Any  # written as JSON, unless `raw` is set
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # answer this much later (the message is already delivered)
    drop: bool = False  # close the connection without answering
    raw: str | None = None  # a body written as is, for answers that are not JSON
    content_type: str = JSON


def raw_answer(status: int, text: str, content_type: str) -> Answer:
    return Answer(status, None, raw=text, content_type=content_type)


@dataclass(frozen=True)
class Dialect:
    """How one provider words its errors and its rate limits."""

    provider: str
    error: Callable[[int, str], Answer]
    rate_limited: Callable[[Fault], Answer]
    unknown_status: int  # the HTTP status its errors usually come with, for `unknown_error`


def run_send(
    state: SandboxState,
    call: Call,
    dialect: Dialect,
    sender: str,
    *,
    validate: Callable[[], Answer | None],
    accept: Callable[[Fault | None], Answer],
    profile_slug: str | None = None,
) -> Answer:
    """The course of every send request, after authentication and required fields;
    `profile_slug`, for a profile fetch, is what a rule may narrow itself to."""
    state.note_send_request(dialect.provider, call.path, sender)
    fault = state.take_fault(dialect.provider, call.path, sender, profile_slug=profile_slug)
    if fault is not None and not fault.delivers:
        return fault_answer(fault, dialect)
    refused = validate()
    if refused is not None:
        return refused
    return with_fault(fault, dialect, accept(fault))


def run_read(
    state: SandboxState,
    dialect: Dialect,
    sender: str,
    path: str,
    *,
    serve: Callable[[frozenset[FaultKind]], Answer],
) -> Answer:
    """The course of every read request, after authentication. `path` is the endpoint as fault
    rules and the record name it (a template for a path that carries an id); `serve` answers
    the read, shaped by the read-shaping kinds that match it."""
    state.note_read_request(dialect.provider, path, sender)
    fault = state.take_fault(dialect.provider, path, sender, read=True)
    if fault is not None and fault.kind not in {"slow", "drop"}:
        return fault_answer(fault, dialect)  # a read changes nothing: the fault just answers
    return with_fault(fault, dialect, serve(state.take_read_shapes(dialect.provider, path, sender)))


def with_fault(fault: Fault | None, dialect: Dialect, answer: Answer) -> Answer:
    """The answer to a request that went through: the provider's own, or what `fault` makes
    of it."""
    if fault is None or fault.kind == "outx_task":
        return answer
    if fault.kind == "slow":
        answer.delay_s = fault.delay_s
        return answer
    if fault.kind == "drop":
        answer.drop = True
        return answer
    return fault_answer(fault, dialect)


def fault_answer(fault: Fault, dialect: Dialect) -> Answer:
    """The answer `fault` gives in place of the provider's own."""
    status = fault.status
    if fault.kind == "rate_limit":
        return dialect.rate_limited(fault)
    if fault.kind == "respond":
        if fault.content_type is not None:
            answer = raw_answer(status or 500, str(fault.body), fault.content_type)
        else:
            answer = Answer(status or 500, fault.body)
        answer.headers.update(fault.headers)
        return answer
    if fault.kind == "gateway_html":
        return gateway_page(status or 504)
    if fault.kind == "unknown_error":
        return dialect.error(status or dialect.unknown_status, fault.error or UNKNOWN_ERROR)
    if fault.kind == "no_data":
        # LinkUp's reference page shows this success answer, without `data`.
        return Answer(200, {"status": "success", "message": "Message sent successfully"})
    if fault.kind == "unreadable_success":
        return raw_answer(200, "OK", "text/plain; charset=utf-8")
    # "status" (slow, drop and outx_task always go through, to `with_fault`)
    status = status or 500
    return dialect.error(status, fault.error or _DEFAULT_ERRORS.get(status, "Error"))


UNKNOWN_ERROR = "Unexpected condition E7731 while processing the request"

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

# nginx's wording, the usual gateway in front of an API.
_GATEWAY_REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def gateway_page(status: int) -> Answer:
    """The HTML error page a gateway in front of the provider answers with."""
    try:
        reason = _GATEWAY_REASONS.get(status) or HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    title = f"{status} {reason}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return raw_answer(status, page, "text/html")


def lacks(body: Any, name: str) -> bool:
    """Whether `body` is not a JSON object holding `name` as a non-empty string."""
    return not isinstance(body, dict) or not isinstance(body.get(name), str) or not body[name]
