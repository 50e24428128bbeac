"""The sandbox's LinkUp: `POST /v1/messages/send-message`, errors mostly as HTTP 200."""

from __future__ import annotations

import base64
import binascii
import re
import time

from worker.sandbox.dialect import (
    Answer,
    Call,
    Dialect,
    fake_id,
    fake_member_id,
    required_strings,
    run_send,
)
from worker.sandbox.faults import Fault
from worker.sandbox.state import SandboxState, fingerprint

SEND_PATH = "/v1/messages/send-message"
COUNTRIES = frozenset({"US", "UK", "FR", "DE", "NL", "IT", "IL", "CA", "BR", "ES", "IN"})
_PROFILE = re.compile(
    r"^(https?://([a-z]{2,3}\.|www\.)?linkedin\.com/in/[^/?#\s]+/?"
    r"|(urn:li:fsd_profile:)?AC[A-Za-z0-9_-]{10,})$"
)
_MEDIA_EXTENSIONS = (".png", ".mp4", ".jpeg", ".jpg", ".pdf")


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"status": "error", "message": message})


def _rate_limited(fault: Fault) -> Answer:
    answer = _error(200 if fault.form == "http_200" else 429, "Rate limiting from LinkedIn")
    if fault.retry_after_s is not None and fault.form == "http_429":
        answer.headers["Retry-After"] = str(int(fault.retry_after_s))
    return answer


DIALECT = Dialect("linkup", _error, _rate_limited)


def send_message(state: SandboxState, call: Call) -> Answer:
    if not call.headers.get("x-api-key"):
        return _error(401, "Missing API key")
    missing = required_strings(call.body, "linkedin_url", "message_text", "login_token")
    if missing is not None:
        return _error(400, f"'{missing}' is required")
    body = call.body
    sender = fingerprint(body["login_token"])

    def validate() -> Answer | None:
        # LinkUp's documented errors come back with HTTP 200 and "status": "error".
        if not _PROFILE.match(body["linkedin_url"]):
            return _error(200, "Invalid profile URL format")
        country = body.get("country", "FR")
        if country not in COUNTRIES:
            return _error(200, f"Invalid country: {country}")
        link = body.get("media_link")
        if link is not None and not str(link).lower().split("?")[0].endswith(_MEDIA_EXTENSIONS):
            return _error(200, "Invalid media_link: use a .png, .mp4, .jpeg or .pdf link")
        if (
            link is None
            and body.get("media_file") is not None
            and not _is_base64(body["media_file"])
        ):
            return _error(200, "Invalid media_file format or base64 encoding")
        return None

    def accept(_: Fault | None) -> Answer:
        media = body.get("media_link") or ("media_file" if body.get("media_file") else None)
        message = state.deliver(
            provider="linkup",
            path=SEND_PATH,
            sender=sender,
            recipient=body["linkedin_url"],
            text=body["message_text"],
            media=media,
        )
        me = f"urn:li:fsd_profile:{fake_member_id(sender)}"
        conversation = f"2-{fake_id(sender + body['linkedin_url'])}"
        return Answer(
            200,
            {
                "status": "success",
                "message": "Message sent successfully",
                "data": {
                    "entityUrn": f"urn:li:msg_message:({me},{message.id})",
                    "conversation_id": f"urn:li:msg_conversation:({me},{conversation})",
                    "deliveredAt": int(time.time() * 1000),
                },
            },
        )

    return run_send(state, call, DIALECT, sender, validate=validate, accept=accept)


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return False
    payload = value.partition(",")[2] if value.startswith("data:") else value
    try:
        base64.b64decode(payload, validate=True)
    except binascii.Error:
        return False
    return bool(payload)
