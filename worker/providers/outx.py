"""OutX `POST /linkedin-agent/send-message`, then `GET /linkedin-agent/get-task-status`.

A send only creates a task (`Accepted`); the status check says later whether LinkedIn got the
message. Auth is `x-api-key`. The recipient must be a person URN; OutX finds the conversation
itself, so a conversation URN is not needed and not sent.
"""

from __future__ import annotations

from typing import ClassVar

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.base import Provider, SendRequest, as_str, check_text, unsupported
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

_WAITING = frozenset({"pending", "processing", "queued", "running", "in_progress"})
_FAILED = frozenset({"failed", "error", "cancelled", "canceled"})


class OutX(Provider):
    name = "outx"
    max_text_chars: ClassVar[int] = MAX_TEXT_CHARS

    @classmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        problems = check_text(request.text, cls.max_text_chars)
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
        reply = exchange(
            self.client,
            "POST",
            self.base_url + SEND_PATH,
            headers={"x-api-key": account.api_key.reveal()},
            json={"recipient_urn": person_urn(request.recipient), "message": request.text},
        )
        if not isinstance(reply, Reply):
            return reply
        return self.classify_send(reply)

    def classify_send(self, reply: Reply) -> SendOutcome:
        body = reply.body if isinstance(reply.body, dict) else {}
        if 200 <= reply.status < 300:
            task_id = as_str(body.get("api_agent_task_id"))
            if body.get("success") is True and task_id:
                return Accepted(task_id, http_status=reply.status)
            # We cannot poll without a task id, yet a task may exist.
            return Unknown(f"no task id in the answer: {error_text(reply)}", reply.status)
        if reply.status in (403, 404):
            # 403 "Plugin installation required", 404 "No admin user found in the team".
            return Rejected(error_text(reply), account_level=True, http_status=reply.status)
        return self.classify_failure(reply)

    def check_task(self, account: Account, task_id: str) -> TaskOutcome:
        """Where task `task_id` stands; safe to repeat, so a lost answer is only Transient."""
        reply = exchange(
            self.client,
            "GET",
            self.base_url + STATUS_PATH,
            headers={"x-api-key": account.api_key.reveal()},
            params={"api_agent_task_id": task_id},
            idempotent=True,
        )
        if not isinstance(reply, Reply):
            return reply
        return self.classify_task(reply)

    def classify_task(self, reply: Reply) -> TaskOutcome:
        body = reply.body if isinstance(reply.body, dict) else {}
        data = body.get("data")
        if 200 <= reply.status < 300 and isinstance(data, dict):
            return task_outcome(data, reply.status)
        if reply.status == 404 and "admin" not in error_text(reply).lower():
            return Unknown(f"task not found: {error_text(reply)}", 404)
        if reply.status in (403, 404):
            return Rejected(error_text(reply), account_level=True, http_status=reply.status)
        if reply.status >= 500:
            # A status check sends nothing, so any server failure is only a reason to ask again.
            return Transient(error_text(reply), reply.status)
        return self.classify_failure(reply)


def task_outcome(data: dict[str, object], http_status: int) -> TaskOutcome:
    """The meaning of a task's `data` object."""
    status = str(data.get("status", "")).lower()
    output = data.get("task_output")
    details = output if isinstance(output, dict) else {}
    reason = as_str(details.get("error")) or as_str(details.get("message"))
    if status in _WAITING:
        return Pending(status, http_status)
    if status == "completed":
        sent = details.get("sent")
        if sent is True:
            return Sent(http_status=http_status)
        if sent is False:
            return Rejected(reason or "the task completed without sending", http_status=http_status)
        return Unknown("the task completed without saying whether it sent", http_status)
    if status in _FAILED:
        return Rejected(reason or f"the task ended {status}", http_status=http_status)
    return Unknown(f"unrecognised task status {status!r}", http_status)


def person_urn(recipient: Recipient) -> str | None:
    """`urn:li:person:ID` for a profile URN of the person or fsd_profile kind; else None."""
    if recipient.urn_type in ("person", "fsd_profile"):
        return f"urn:li:person:{recipient.member_id}"
    return None
