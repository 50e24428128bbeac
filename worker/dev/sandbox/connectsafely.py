"""The sandbox's ConnectSafely: `POST /linkedin/messaging/send` and
`POST /linkedin/conversations/send`, Bearer auth, errors as `{"error": ...}` with the statuses
the conversations page documents for the same API (400 "Bad request or send failed", 401, 404,
500); the messaging page lists only its 200. A delivered message joins the account's
conversation with the recipient (see `connectsafely_reads`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from worker.dev.sandbox.dialect import Answer, Call, Dialect, lacks, run_send
from worker.dev.sandbox.faults import Fault
from worker.dev.sandbox.state import SandboxState, fingerprint

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


DIALECT = Dialect("connectsafely", _error, _rate_limited, unknown_status=400)


# The fields that name the recipient; only conversations/send documents `conversationUrn`
# ("skips recipient lookup"). A field a path does not document is ignored, as unknown JSON is.
_RECIPIENT_FIELDS = {
    MESSAGING_PATH: ("recipientProfileId", "recipientProfileUrn"),
    CONVERSATIONS_PATH: ("recipientProfileId", "recipientProfileUrn", "conversationUrn"),
}


def bearer_token(call: Call) -> str | None:
    """The API key of an `Authorization: Bearer` header; None when there is none."""
    header = call.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    return token if header.startswith("Bearer ") and token else None


def unauthorized() -> Answer:
    return _error(401, "Unauthorized")


def account_of(account_id: object, token: str) -> str:
    """The sender: the `accountId` the request names, else (the sandbox's stand-in for "the
    default account") the key's fingerprint."""
    return account_id if isinstance(account_id, str) and account_id else fingerprint(token)


def send_message(state: SandboxState, call: Call) -> Answer:
    """Both paths: the same fields, answers and errors, bar the ones a path alone documents."""
    token = bearer_token(call)
    if token is None:
        return unauthorized()
    body = call.body
    if not isinstance(body, dict):
        return _error(400, "Request body must be a JSON object")
    if lacks(body, "message"):
        return _error(400, "message is required")
    sender = account_of(body.get("accountId"), token)
    messaging = call.path == MESSAGING_PATH

    def validate() -> Answer | None:
        # Each a documented 400, "Bad request or send failed": the docs' rules for the fields.
        if not any(body.get(name) for name in _RECIPIENT_FIELDS[call.path]):
            return _error(400, "Either recipientProfileId or recipientProfileUrn must be provided")
        message_type = body.get("messageType", "normal")
        if messaging and message_type not in ("normal", "inmail"):
            return _error(400, f"Invalid messageType: {message_type}")
        if not messaging and not isinstance(body.get("attachments", []), list):
            return _error(400, "attachments must be an array")
        return None

    def accept(_: Fault | None) -> Answer:
        recipient = body.get("recipientProfileUrn") or body.get("recipientProfileId") or ""
        conversation_urn = None if messaging else body.get("conversationUrn")
        message = state.deliver(
            provider="connectsafely",
            path=call.path,
            sender=sender,
            recipient=recipient,
            text=body["message"],
            subject=body.get("subject"),
            message_type=body.get("messageType", "normal") if messaging else "normal",
            conversation_urn=conversation_urn,
        )
        conversation, _entry = state.conversations.record_send(
            "connectsafely",
            sender,
            # The docs type these fields as strings, but the sandbox refuses no other type.
            recipient=str(recipient),
            text=body["message"],
            message_id=message.id,
            conversation_urn=str(conversation_urn) if conversation_urn else None,
        )
        # The member id here is the one the read endpoints give the same person.
        urn = body.get("recipientProfileUrn") or conversation.person.urn
        answer: dict[str, Any] = {"success": True, "recipientProfileUrn": urn}
        if messaging:
            answer["message"] = "Message sent successfully"
        else:
            answer.update({"message": body["message"], "sentMessage": {}})
        return Answer(200, answer)

    return run_send(state, call, DIALECT, sender, validate=validate, accept=accept)
