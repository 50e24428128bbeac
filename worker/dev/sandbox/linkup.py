"""The sandbox's LinkUp: `POST /v1/messages/send-message`. Its errors are the four the docs
list, each as HTTP 200 with `"status": "error"`; anything the docs leave open is accepted.
A delivered message joins the sender's conversation with the recipient (see `linkup_reads`)."""

from __future__ import annotations

import base64
import binascii
import re

from worker.dev.sandbox.dialect import Answer, Call, Dialect, lacks, run_send
from worker.dev.sandbox.faults import Fault
from worker.dev.sandbox.state import SandboxState, fingerprint

SEND_PATH = "/v1/messages/send-message"
# Which profile strings are an "Invalid profile URL format" the docs do not say: the sandbox
# refuses only what is plainly neither a LinkedIn profile URL nor a member id. Profile names may
# be percent-encoded or non-ASCII, and hosts any case.
_PROFILE_URL = re.compile(
    r"^https?://([a-z]{2,3}\.|www\.)?linkedin\.com/in/[^/?#\s]+/?([?#]\S*)?$", re.IGNORECASE
)
_MEMBER_ID = re.compile(r"^(urn:li:fsd_profile:)?AC[A-Za-z0-9_-]{10,}$")

# The errors the docs list, in their words.
INVALID_PROFILE = "Invalid profile URL format"
INVALID_MEDIA_FILE = "Invalid media_file format or base64 encoding"
NETWORK_OR_PERMISSION = "Network or permission errors"
RATE_LIMITED = "Rate limiting from LinkedIn"


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"status": "error", "message": message})


def _rate_limited(fault: Fault) -> Answer:
    answer = _error(200 if fault.form == "http_200" else 429, RATE_LIMITED)
    if fault.retry_after_s is not None and fault.form == "http_429":
        answer.headers["Retry-After"] = str(int(fault.retry_after_s))
    return answer


DIALECT = Dialect("linkup", _error, _rate_limited, unknown_status=200)


def send_message(state: SandboxState, call: Call) -> Answer:
    refused = _refuse_unusable(call)
    if refused is not None:
        return refused
    body = call.body
    sender = fingerprint(body["login_token"])

    def validate() -> Answer | None:
        # An unlisted country or a media_link of another extension: the docs list no error for
        # either, so the sandbox sends (a fault can say otherwise).
        if not is_profile(body["linkedin_url"]):
            return _error(200, INVALID_PROFILE)
        # media_link has priority: with one, media_file is not looked at.
        media_file = None if body.get("media_link") else body.get("media_file")
        if media_file is not None and not _is_base64(media_file):
            return _error(200, INVALID_MEDIA_FILE)
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
        # The same message and conversation the read endpoints then show (the docs do not say
        # whether the URNs are the same strings; the sandbox makes them so).
        conversation, entry = state.conversations.record_send(
            "linkup",
            sender,
            recipient=body["linkedin_url"],
            text=body["message_text"],
            message_id=message.id,
        )
        return Answer(
            200,
            {
                "status": "success",
                "message": "Message sent successfully",
                "data": {
                    "entityUrn": entry.urn,
                    "conversation_id": conversation.urn,
                    "deliveredAt": entry.at_ms,
                },
            },
        )

    return run_send(state, call, DIALECT, sender, validate=validate, accept=accept)


def refuse_without_credentials(call: Call) -> Answer | None:
    """No API key or no login token, on any LinkUp path: the documented "Network or permission
    errors" (LinkUp documents no 401)."""
    if not call.headers.get("x-api-key") or lacks(call.body, "login_token"):
        return _error(200, NETWORK_OR_PERMISSION)
    return None


def _refuse_unusable(call: Call) -> Answer | None:
    """A request the sandbox cannot send at all (before it counts as a send), answered in the
    documented error shape: no credentials is a permission error, no recipient an invalid
    profile URL."""
    refused = refuse_without_credentials(call)
    if refused is not None:
        return refused
    if lacks(call.body, "linkedin_url"):
        return _error(200, INVALID_PROFILE)
    if lacks(call.body, "message_text"):
        # The docs list no error for it; their shape, with the field named.
        return _error(200, "message_text is required")
    return None


def is_profile(value: str) -> bool:
    return bool(_PROFILE_URL.match(value) or _MEMBER_ID.match(value))


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return False
    payload = value.partition(",")[2] if value.startswith("data:") else value
    try:
        base64.b64decode(payload, validate=True)
    except binascii.Error:
        return False
    return bool(payload)
