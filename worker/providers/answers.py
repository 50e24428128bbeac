"""The outcome table: what every kind of provider answer means, written down once.

An adapter only says which row an answer belongs to (`Answer`), using what its provider's
documentation names; this module turns the row into an outcome. The rule behind the rows:
an answer that does not prove the message was *not* processed is `Unknown`, never a retry.
Only a request that never reached the provider, or an answer refusing it outright, leads to
another attempt. The README's "What a provider's answer means" is this table in prose, and
`tests/worker/providers/test_answers.py` checks they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from worker.providers.outcomes import Failure, RateLimited, Rejected, Transient, Unknown


class Answer(StrEnum):
    """The rows, first match wins, in this order."""

    NOT_SENT = "not_sent"
    NO_ANSWER = "no_answer"
    SERVER_ERROR = "server_error"
    OTHER_STATUS = "other_status"
    TOO_MANY_REQUESTS = "too_many_requests"
    NOT_JSON = "not_json"
    SUCCESS = "success"
    UNREADABLE_SUCCESS = "unreadable_success"
    CREDENTIALS = "credentials"
    RATE_LIMIT_ERROR = "rate_limit_error"
    ACCOUNT_ERROR = "account_error"
    TEMPORARY_ERROR = "temporary_error"
    INVALID_MESSAGE = "invalid_message"
    UNRECOGNISED_ERROR = "unrecognised_error"


Build = Callable[[str, int | None, datetime | None], Failure]


@dataclass(frozen=True)
class Row:
    when: str  # what came back, in words
    outcome: str  # the outcome's name
    then: str  # what the pipeline does with it
    build: Build | None  # None: the adapter builds the success itself
    breaker: bool = False  # counts towards the sender's breaker (worker.policy)


TABLE: dict[Answer, Row] = {
    Answer.NOT_SENT: Row(
        "connection refused, or the request not fully written",
        "transient",
        "retried with back-off: the request never reached the provider",
        lambda reason, status, _: Transient(reason, status),
        breaker=True,
    ),
    Answer.NO_ANSWER: Row(
        "connection dropped or timed out after the request was written",
        "unknown",
        "never resent: the provider may have sent it",
        lambda reason, status, _: Unknown(reason, status),
        breaker=True,
    ),
    Answer.SERVER_ERROR: Row(
        "any HTTP 5xx (500, 502, 503, 504…), whatever its body",
        "unknown",
        "never resent: a server or gateway that failed may have passed the request on",
        lambda reason, status, _: Unknown(f"server error: {reason}", status),
        breaker=True,
    ),
    Answer.OTHER_STATUS: Row(
        "an HTTP 1xx or 3xx",
        "unknown",
        "never resent: no provider documents one, and a redirect can follow a processed POST",
        lambda reason, status, _: Unknown(f"unexpected HTTP status: {reason}", status),
        breaker=True,
    ),
    Answer.TOO_MANY_REQUESTS: Row(
        "HTTP 429",
        "rate_limited",
        "the account pauses (Retry-After if given, else the doubling pause); message kept",
        lambda reason, status, retry_at: RateLimited(reason, retry_at, status),
    ),
    Answer.NOT_JSON: Row(
        "a 2xx or 4xx whose body is not JSON (an HTML error page, plain text)",
        "unknown",
        "never resent: not the provider's own answer, so it proves nothing",
        lambda reason, status, _: Unknown(f"answer is not JSON: {reason}", status),
        breaker=True,
    ),
    Answer.SUCCESS: Row(
        "a 2xx in the provider's documented success form",
        "sent (OutX: accepted, then checked)",
        "the delivery is sent; its ids are kept",
        None,
    ),
    Answer.UNREADABLE_SUCCESS: Row(
        "a 2xx JSON body in neither the documented success nor the documented error form",
        "unknown",
        "never resent: it may be a success we cannot read",
        lambda reason, status, _: Unknown(f"unreadable answer: {reason}", status),
        breaker=True,
    ),
    Answer.CREDENTIALS: Row(
        "HTTP 401 or 402 (key, token or credits refused)",
        "rejected (account)",
        "the account pauses until `outreach accounts resume`; message kept",
        lambda reason, status, _: Rejected(reason, account_level=True, http_status=status),
    ),
    Answer.RATE_LIMIT_ERROR: Row(
        'an error that says "rate limit" or "too many requests" (LinkUp: "Rate limiting from'
        ' LinkedIn")',
        "rate_limited",
        "the account pauses; message kept at the head of its queue",
        lambda reason, status, retry_at: RateLimited(reason, retry_at, status),
    ),
    Answer.ACCOUNT_ERROR: Row(
        "a documented account error (OutX 403 plugin, 404 no admin; ConnectSafely 404 account)",
        "rejected (account)",
        "the account pauses until `outreach accounts resume`; message kept",
        lambda reason, status, _: Rejected(reason, account_level=True, http_status=status),
    ),
    Answer.TEMPORARY_ERROR: Row(
        'LinkUp\'s documented "Network or permission errors"',
        "transient",
        "retried with back-off, then failed after OUTREACH_MAX_ATTEMPTS tries",
        lambda reason, status, _: Transient(reason, status),
        breaker=True,
    ),
    Answer.INVALID_MESSAGE: Row(
        "a documented error about the recipient or the message (LinkUp invalid profile URL or"
        " media_file; OutX's 400s)",
        "rejected",
        "the message fails; the account goes on",
        lambda reason, status, _: Rejected(reason, http_status=status),
    ),
    Answer.UNRECOGNISED_ERROR: Row(
        "any other error answer: a 4xx, or a 2xx in the provider's error form",
        "rejected (unrecognised)",
        "the message fails",
        lambda reason, status, _: Rejected(reason, http_status=status, recognised=False),
        breaker=True,
    ),
}


def outcome_for(
    answer: Answer, reason: str, status: int | None = None, retry_at: datetime | None = None
) -> Failure:
    """The outcome of any row but SUCCESS, which only the adapter can read."""
    build = TABLE[answer].build
    if build is None:
        raise ValueError(f"{answer} is built by the adapter, not the table")
    return build(reason, status, retry_at)


def status_row(status: int) -> Answer | None:
    """The rows decided by the HTTP status alone, before the body is read."""
    if status >= 500:
        return Answer.SERVER_ERROR
    if status < 200 or 300 <= status < 400:
        return Answer.OTHER_STATUS
    if status == 429:
        return Answer.TOO_MANY_REQUESTS
    return None
