"""OutX `POST /linkedin-agent/send-message`, then `GET /linkedin-agent/get-task-status`; and
`POST /linkedin-agent/fetch-profile`, which resolves a profile URL to the URN a send needs.

A send only creates a task (`Accepted`); the status check says later whether LinkedIn got the
message. Auth is `x-api-key`. The recipient must be a person URN; OutX finds the conversation
itself, so a conversation URN is not needed and not sent. A recipient given by profile URL or
public id is first fetched (a task too, checked the same way): its `task_output.profile_urn`
is the URN, which the send-message page says to use as `recipient_urn`.

The page documents two task statuses, `pending` and `completed` (with `task_output.sent`).
Any other word means "not finished yet": the pipeline keeps checking until the confirmation
deadline, and only that deadline ends a task it cannot read, as `unknown`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.answers import Answer, outcome_for
from worker.providers.base import (
    Capability,
    Provider,
    SendRequest,
    as_object,
    as_str,
    unsupported,
)
from worker.providers.http import Reply, error_text, exchange
from worker.providers.outcomes import (
    Accepted,
    Failure,
    FetchOutcome,
    Pending,
    ProfileOutcome,
    Rejected,
    Resolved,
    SendOutcome,
    Sent,
    TaskOutcome,
    Transient,
    Unknown,
)
from worker.recipients import Recipient, parse_recipient

SEND_PATH = "/linkedin-agent/send-message"
STATUS_PATH = "/linkedin-agent/get-task-status"
FETCH_PATH = "/linkedin-agent/fetch-profile"
FETCH_TASK_TYPE = "agent_profile_fetch"  # a fetch task's `task_input.task_type`
MAX_TEXT_CHARS = 10_000
# The documented 400s, all about the request's own fields.
_INVALID_MESSAGE_ERRORS = (
    "missing or invalid 'recipient_urn'",
    "missing or invalid 'message'",
    "message text is too long",
)
# Fetch Profile's documented 400.
_INVALID_SLUG_ERROR = "missing or invalid 'profile_slug'"


class OutX(Provider):
    name = "outx"
    capabilities = frozenset({Capability.SEND, Capability.CHECK_TASK, Capability.RESOLVE_PROFILE})
    max_text_chars: ClassVar[int] = MAX_TEXT_CHARS
    text_limit_source: ClassVar[str] = "OutX's documented maximum"

    @classmethod
    def check_recipient(cls, recipient: Recipient) -> list[Problem]:
        if person_urn(recipient) is not None or recipient.public_id is not None:
            return []
        return [
            Problem(
                "recipient",
                (
                    "OutX needs a LinkedIn person URN (urn:li:person:ID or"
                    " urn:li:fsd_profile:ID), or a profile URL or public id that outreach"
                    " resolves to one with OutX's Fetch Profile; not a member URN"
                ),
            )
        ]

    @classmethod
    def check_options(cls, request: SendRequest) -> list[Problem]:
        return unsupported(
            request, "OutX send-message", "subject", "inmail", "media_link", "media_file"
        )

    def send(self, account: Account, request: SendRequest) -> SendOutcome:
        refused = self.refuse_invalid(request)
        if refused is not None:
            return refused
        recipient_urn = person_urn(request.recipient)
        if recipient_urn is None:
            # check() lets a profile URL through: it is resolved (Fetch Profile) before a send.
            return Rejected("OutX sends only to a person URN: resolve the profile URL first")
        body = {"recipient_urn": recipient_urn, "message": request.text}
        reply = self.post(SEND_PATH, {"x-api-key": account.api_key.reveal()}, body)
        if not isinstance(reply, Reply):
            return reply
        return self.classify(reply, request)

    def is_success(self, body: dict[str, Any]) -> bool:
        # Without a task id there is nothing to check, yet a task may exist: not a success.
        return body.get("success") is True and as_str(body.get("api_agent_task_id")) is not None

    def is_error_form(self, body: dict[str, Any]) -> bool:
        # `success` is documented as "whether the task was created".
        return body.get("success") is False

    def success(self, body: dict[str, Any], reply: Reply, request: SendRequest) -> SendOutcome:
        task_id = as_str(body.get("api_agent_task_id"))
        assert task_id is not None  # is_success checked it
        return Accepted(task_id, http_status=reply.status)

    def recognise_error(self, status: int, reason: str) -> Answer | None:
        if status in (403, 404):
            # 403 "Plugin installation required", 404 "No admin user found in the team".
            return Answer.ACCOUNT_ERROR
        if status == 400 and reason.lower().startswith(_INVALID_MESSAGE_ERRORS):
            return Answer.INVALID_MESSAGE
        return None

    def check_task(self, account: Account, task_id: str) -> TaskOutcome:
        """Where task `task_id` stands. Checking sends nothing, so any failure of the check
        itself is only Transient: check again later."""
        reply = self._task_status(account, task_id)
        if not isinstance(reply, Reply):
            return reply
        return self.classify_task(reply)

    def classify_task(self, reply: Reply) -> TaskOutcome:
        data = _task_data(reply)
        if data is not None:
            return task_outcome(data, reply.status)
        return _failed_check(reply)

    @classmethod
    def needs_profile_urn(cls, recipient: Recipient) -> bool:
        return person_urn(recipient) is None and recipient.public_id is not None

    def start_profile_fetch(self, account: Account, recipient: Recipient) -> FetchOutcome:
        """Create a Fetch Profile task for `recipient`'s profile (its slug: the part after
        linkedin.com/in/, as a URL writes it). The fetch sends no message, so an answer that
        proves nothing, or an error OutX does not document for it, is only Transient."""
        slug = recipient.public_id
        if slug is None:
            return Rejected(f"{recipient} has no profile slug to fetch")
        body = {"profile_slug": slug}
        reply = self.post(FETCH_PATH, {"x-api-key": account.api_key.reveal()}, body)
        if not isinstance(reply, Reply):
            return _fetch_failure(reply)
        answer = self.answer_of(reply, _recognise_fetch_error)
        if answer is Answer.SUCCESS:
            task_id = as_str(reply.body.get("api_agent_task_id"))
            assert task_id is not None  # is_success checked it
            return Accepted(task_id, http_status=reply.status)
        return _fetch_failure(
            outcome_for(answer, error_text(reply), reply.status, self.retry_hint(reply))
        )

    def profile_fetch(self, account: Account, task_id: str) -> ProfileOutcome:
        """Where a Fetch Profile task stands: Pending, the profile's URN, or Rejected when it
        completed without one (nothing documents how a missing profile ends)."""
        reply = self._task_status(account, task_id)
        if not isinstance(reply, Reply):
            return reply
        data = _task_data(reply)
        if data is None:
            return _failed_check(reply)
        return profile_outcome(data, reply.status)

    def _task_status(self, account: Account, task_id: str) -> Reply | Transient:
        reply = exchange(
            self.client,
            "GET",
            self.base_url + STATUS_PATH,
            headers={"x-api-key": account.api_key.reveal()},
            params={"api_agent_task_id": task_id},
        )
        if not isinstance(reply, Reply):
            return Transient(f"status check failed: {reply.reason}")
        return reply


def _task_data(reply: Reply) -> dict[str, Any] | None:
    """A status answer's `data` object, when the answer is a 2xx that has one."""
    data = as_object(reply.body).get("data")
    return data if 200 <= reply.status < 300 and isinstance(data, dict) else None


def _failed_check(reply: Reply) -> Rejected | Transient:
    if reply.status in (401, 402):
        # The key itself is refused: the account pauses, the task is checked again later.
        return Rejected(error_text(reply), account_level=True, http_status=reply.status)
    return Transient(f"status check failed: {error_text(reply)}", reply.status)


def _recognise_fetch_error(status: int, reason: str) -> Answer | None:
    """The errors the Fetch Profile page documents (401 is the CREDENTIALS row already)."""
    if status == 403:  # "Plugin installation required": no active Chrome extension
        return Answer.ACCOUNT_ERROR
    if status == 400 and reason.lower().startswith(_INVALID_SLUG_ERROR):
        return Answer.INVALID_MESSAGE
    return None


def _fetch_failure(outcome: Failure) -> FetchOutcome:
    """A fetch's failure as the pipeline treats it: what would make a send `unknown`, or an
    error no page documents, cannot have sent anything here, so it is fetched again later."""
    match outcome:
        case Unknown(reason=reason, http_status=status):
            return Transient(f"profile fetch: {reason}", status)
        case Rejected(recognised=False, reason=reason, http_status=status):
            return Transient(f"profile fetch: undocumented error: {reason}", status)
        case _:
            return outcome


def task_outcome(data: dict[str, Any], http_status: int) -> TaskOutcome:
    """The meaning of a task's `data` object."""
    status = data.get("status")
    if status != "completed":
        return Pending(str(status), http_status)
    output = data.get("task_output")
    details = output if isinstance(output, dict) else {}
    sent = details.get("sent")
    if sent is True:
        return Sent(http_status=http_status)
    if sent is False:
        # The page: messaging a non-connection "will result in a task failure".
        reason = as_str(details.get("error")) or "the task completed without sending"
        return Rejected(reason, http_status=http_status)
    return Unknown("the task completed without saying whether it sent", http_status)


def profile_outcome(data: dict[str, Any], http_status: int) -> ProfileOutcome:
    """The meaning of a Fetch Profile task's `data` object."""
    if data.get("status") != "completed":
        return Pending(str(data.get("status")), http_status)
    task_type = as_object(data.get("task_input")).get("task_type")
    if task_type is not None and task_type != FETCH_TASK_TYPE:
        # Our record says fetch, OutX says otherwise (a send?): never act on it as a fetch.
        return Unknown(f"task is {task_type!r}, not a profile fetch", http_status)
    output = as_object(data.get("task_output"))
    found = as_str(output.get("profile_urn"))
    if found is None:
        said = as_str(output.get("error")) or as_str(output.get("message"))
        detail = f": {said}" if said else ""
        return Rejected(
            f"OutX's fetch completed without a profile_urn{detail}", http_status=http_status
        )
    try:
        urn = parse_recipient(found, expect="urn")
    except ValueError:
        urn = None
    if urn is None or person_urn(urn) is None:
        return Rejected(
            f"OutX's profile_urn {found!r} is not a person URN", http_status=http_status
        )
    return Resolved(urn.value, http_status)


def person_urn(recipient: Recipient) -> str | None:
    """`urn:li:person:ID` for a profile URN of the person or fsd_profile kind; else None."""
    if recipient.urn_type in ("person", "fsd_profile"):
        return f"urn:li:person:{recipient.member_id}"
    return None
