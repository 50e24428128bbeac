"""OutX `POST /linkedin-agent/send-message`, then `GET /linkedin-agent/get-task-status`.

A send only creates a task (`Accepted`); the status check says later whether LinkedIn got the
message. Auth is `x-api-key`. The recipient must be a person URN; OutX finds the conversation
itself, so a conversation URN is not needed and not sent.

The page documents two task statuses, `pending` and `completed` (with `task_output.sent`).
Any other word means "not finished yet": the pipeline keeps checking until the confirmation
deadline, and only that deadline ends a task it cannot read, as `unknown`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.answers import Answer
from worker.providers.base import (
    Capability,
    Provider,
    SendRequest,
    as_str,
    check_text,
    unsupported,
)
from worker.providers.http import Reply, error_text, exchange
from worker.providers.outcomes import (
    Accepted,
    Pending,
    Rejected,
    SendOutcome,
    Sent,
    TaskOutcome,
    Transient,
    Unknown,
)
from worker.recipients import Recipient

SEND_PATH = "/linkedin-agent/send-message"
STATUS_PATH = "/linkedin-agent/get-task-status"
MAX_TEXT_CHARS = 10_000
# The documented 400s, all about the request's own fields.
_INVALID_MESSAGE_ERRORS = (
    "missing or invalid 'recipient_urn'",
    "missing or invalid 'message'",
    "message text is too long",
)


class OutX(Provider):
    name = "outx"
    capabilities = frozenset({Capability.SEND, Capability.CHECK_TASK})
    max_text_chars: ClassVar[int] = MAX_TEXT_CHARS
    text_limit_source: ClassVar[str] = "OutX's documented maximum"

    @classmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        problems = check_text(request.text, cls.max_text_chars, cls.text_limit_source)
        if person_urn(request.recipient) is None:
            problems.append(
                Problem(
                    "recipient",
                    (
                        "OutX needs a LinkedIn person URN (urn:li:person:ID), not a profile URL or"
                        " public id; OutX's Fetch Profile endpoint gives it as profile_urn"
                    ),
                )
            )
        problems += unsupported(
            request, "OutX send-message", "subject", "inmail", "media_link", "media_file"
        )
        return problems

    def send(self, account: Account, request: SendRequest) -> SendOutcome:
        refused = self.refuse_invalid(request)
        if refused is not None:
            return refused
        body = {"recipient_urn": person_urn(request.recipient), "message": request.text}
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
        reply = exchange(
            self.client,
            "GET",
            self.base_url + STATUS_PATH,
            headers={"x-api-key": account.api_key.reveal()},
            params={"api_agent_task_id": task_id},
        )
        if not isinstance(reply, Reply):
            return Transient(f"status check failed: {reply.reason}")
        return self.classify_task(reply)

    def classify_task(self, reply: Reply) -> TaskOutcome:
        body = reply.body if isinstance(reply.body, dict) else {}
        data = body.get("data")
        if 200 <= reply.status < 300 and isinstance(data, dict):
            return task_outcome(data, reply.status)
        if reply.status in (401, 402):
            # The key itself is refused: the account pauses, the task is checked again later.
            return Rejected(error_text(reply), account_level=True, http_status=reply.status)
        return Transient(f"status check failed: {error_text(reply)}", reply.status)


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


def person_urn(recipient: Recipient) -> str | None:
    """`urn:li:person:ID` for a profile URN of the person or fsd_profile kind; else None."""
    if recipient.urn_type in ("person", "fsd_profile"):
        return f"urn:li:person:{recipient.member_id}"
    return None
