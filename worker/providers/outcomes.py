"""What a provider call came to, as values: the pipeline's state machine matches on these.

Sent         the message went out; provider ids kept
Accepted     OutX took the send as a task; its status decides later
Pending      (OutX status check) the task has not finished yet
Resolved     (OutX Fetch Profile) the profile's URN: the delivery can now be sent
RateLimited  LinkedIn or the provider wants the *account* to slow down
Rejected     permanent for this message; `account_level` when the account itself is unusable,
             `recognised=False` when no documentation names the error (the breaker counts it)
Transient    nothing was sent (connection refused, a documented temporary error): may retry
Unknown      the request may have been processed: never resend automatically

`worker.providers.answers` is the table that says which answer becomes which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Sent:
    message_urn: str | None = None
    conversation_urn: str | None = None
    thread_id: str | None = None  # ConnectSafely, Sales Navigator accounts only
    recipient_urn: str | None = None
    delivered_at: datetime | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class Accepted:
    task_id: str
    http_status: int | None = None


@dataclass(frozen=True)
class Pending:
    status: str
    http_status: int | None = None


@dataclass(frozen=True)
class Resolved:
    urn: str  # the profile URN as OutX gave it (canonical form)
    http_status: int | None = None


@dataclass(frozen=True)
class RateLimited:
    reason: str
    retry_at: datetime | None = None  # the provider's word on when the account may send again
    http_status: int | None = None


@dataclass(frozen=True)
class Rejected:
    reason: str
    account_level: bool = False  # bad credentials, missing account, OutX plugin inactive…
    http_status: int | None = None
    recognised: bool = True  # False: an error no documentation names; it may be about the account


@dataclass(frozen=True)
class Transient:
    reason: str
    http_status: int | None = None


@dataclass(frozen=True)
class Unknown:
    reason: str
    http_status: int | None = None


Failure = RateLimited | Rejected | Transient | Unknown
SendOutcome = Sent | Accepted | RateLimited | Rejected | Transient | Unknown
TaskOutcome = Sent | Pending | RateLimited | Rejected | Transient | Unknown
# Starting a profile fetch: a task (Accepted), or why not. It sends no message, so an answer
# that proves nothing is Transient here, never Unknown: fetching again cannot double-send.
FetchOutcome = Accepted | RateLimited | Rejected | Transient
# A profile fetch's task: Rejected (not account_level) is "the profile could not be resolved";
# Unknown only when the task turns out to be no profile fetch at all.
ProfileOutcome = Resolved | Pending | Rejected | Transient | Unknown
