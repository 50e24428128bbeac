"""The sandbox's ConnectSafely: `POST /linkedin/messaging/send` and
`POST /linkedin/conversations/send`, Bearer auth, errors as `{"error": ...}`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from worker.sandbox.dialect import Answer, Call, Dialect, fake_member_id, run_send
from worker.sandbox.faults import Fault
from worker.sandbox.state import SandboxState, fingerprint

MESSAGING_PATH = "/linkedin/messaging/send"
CONVERSATIONS_PATH = "/linkedin/conversations/send"


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})


def _rate_limited(fault: Fault) -> Answer:
    answer = _error(429, "Rate limit exceeded")
    if fault.retry_after_s is not None:
        reset = time.time() + fault.retry_after_s
        answer.body["holdUntil"] = datetime.fromtimestamp(reset, UTC).isoformat()
        answer.headers.update(
            {
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(reset + 1)),
            }
        )
    return answer


DIALECT = Dialect("connectsafely", _error, _rate_limited)


def messaging_send(state: SandboxState, call: Call) -> Answer:
    return _send(state, call, inmail_allowed=True)


def conversations_send(state: SandboxState, call: Call) -> Answer:
    return _send(state, call, inmail_allowed=False)


def _send(state: SandboxState, call: Call, *, inmail_allowed: bool) -> Answer:
    token = call.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not call.headers.get("authorization", "").startswith("Bearer ") or not token:
        return _error(401, "Unauthorized")
    body = call.body
    if not isinstance(body, dict):
        return _error(400, "Request body must be a JSON object")
    if not isinstance(body.get("message"), str) or not body["message"]:
        return _error(400, "message is required")
    account = body.get("accountId")
    sender = account if isinstance(account, str) and account else fingerprint(token)

    def validate() -> Answer | None:
        profile_id, urn = body.get("recipientProfileId"), body.get("recipientProfileUrn")
        if not (profile_id or urn or body.get("conversationUrn")):
            return _error(400, "Either recipientProfileId or recipientProfileUrn must be provided")
        message_type = body.get("messageType", "normal")
        if message_type not in (("normal", "inmail") if inmail_allowed else ("normal",)):
            return _error(400, f"Invalid messageType: {message_type}")
        if not isinstance(body.get("attachments", []), list):
            return _error(400, "attachments must be an array")
        return None

    def accept(_: Fault | None) -> Answer:
        recipient = body.get("recipientProfileUrn") or body.get("recipientProfileId") or ""
        state.deliver(
            provider="connectsafely",
            path=call.path,
            sender=sender,
            recipient=recipient,
            text=body["message"],
            subject=body.get("subject"),
            message_type=body.get("messageType", "normal"),
            conversation_urn=body.get("conversationUrn"),
        )
        urn = body.get("recipientProfileUrn") or f"urn:li:fsd_profile:{fake_member_id(recipient)}"
        answer: dict[str, Any] = {"success": True, "recipientProfileUrn": urn}
        if call.path == MESSAGING_PATH:
            answer["message"] = "Message sent successfully"
        else:
            answer.update({"message": body["message"], "sentMessage": {}})
        return Answer(200, answer)

    return run_send(state, call, DIALECT, sender, validate=validate, accept=accept)
