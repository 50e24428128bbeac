"""LinkUp `POST /v1/messages/send-message`.

Auth is the `x-api-key` header plus the account's LinkedIn `login_token` in the body. The body's
`status` ("success"/"error") says how it went, whatever the HTTP code. The API finds an existing
conversation by itself: a conversation URN is not needed and not sent.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.answers import Answer
from worker.providers.base import (
    Provider,
    SendRequest,
    as_str,
    check_text,
    parse_epoch_ms,
    unsupported,
)
from worker.providers.http import Reply
from worker.providers.outcomes import SendOutcome, Sent
from worker.recipients import Recipient

SEND_PATH = "/v1/messages/send-message"
# "use .png,.mp4,jpeg,.pdf link extension", as the page words it.
MEDIA_EXTENSIONS = (".png", ".mp4", ".jpeg", ".pdf")
# The documented errors, by the words the page lists them with ("Rate limiting from LinkedIn"
# is recognised by every adapter alike, in `Provider.answer_of`).
_INVALID_MESSAGE_WORDS = ("invalid profile url", "invalid media_file", "base64")
_TEMPORARY_WORDS = ("network", "permission")


class LinkUp(Provider):
    name = "linkup"
    max_text_chars: ClassVar[int] = 8000
    text_limit_source: ClassVar[str] = "outreach's own limit for LinkUp (LinkUp documents none)"

    @classmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        problems = check_text(request.text, cls.max_text_chars, cls.text_limit_source)
        problems += unsupported(request, "LinkUp send-message", "subject", "inmail")
        if request.media_link is not None:
            url = urlsplit(request.media_link)
            if url.scheme not in ("http", "https") or not url.netloc:
                problems.append(Problem("media_link", "must be an http(s) URL"))
            elif not url.path.lower().endswith(MEDIA_EXTENSIONS):
                problems.append(
                    Problem(
                        "media_link",
                        "must end in .png, .mp4, .jpeg or .pdf (LinkUp's documented extensions)",
                    )
                )
        return problems

    def send(self, account: Account, request: SendRequest) -> SendOutcome:
        refused = self.refuse_invalid(request)
        if refused is not None:
            return refused
        assert account.login_token is not None  # the accounts file requires it for LinkUp
        body: dict[str, Any] = {
            "linkedin_url": linkedin_url(request.recipient),
            "message_text": request.text,
            "login_token": account.login_token.reveal(),
        }
        if account.country is not None:
            body["country"] = account.country
        # media_link has priority over media_file at LinkUp; send only the one that counts.
        if request.media_link is not None:
            body["media_link"] = request.media_link
        elif request.media_file is not None:
            body["media_file"] = request.media_file.as_data_url()
        reply = self.post(SEND_PATH, {"x-api-key": account.api_key.reveal()}, body)
        if not isinstance(reply, Reply):
            return reply
        return self.classify(reply, request)

    def is_success(self, body: dict[str, Any]) -> bool:
        return body.get("status") == "success"

    def is_error_form(self, body: dict[str, Any]) -> bool:
        return body.get("status") == "error"

    def success(self, body: dict[str, Any], reply: Reply, request: SendRequest) -> SendOutcome:
        # `data` is documented as present "when message is sent successfully", yet the API
        # reference's own example has none: both are a send.
        raw = body.get("data")
        data = raw if isinstance(raw, dict) else {}
        return Sent(
            message_urn=as_str(data.get("entityUrn")),
            conversation_urn=as_str(data.get("conversation_id")),
            delivered_at=parse_epoch_ms(data.get("deliveredAt")),
            http_status=reply.status,
        )

    def recognise_error(self, status: int, reason: str) -> Answer | None:
        lowered = reason.lower()  # in the table's order
        if any(word in lowered for word in _TEMPORARY_WORDS):
            return Answer.TEMPORARY_ERROR
        if any(word in lowered for word in _INVALID_MESSAGE_WORDS):
            return Answer.INVALID_MESSAGE
        return None


def linkedin_url(recipient: Recipient) -> str:
    """LinkUp's `linkedin_url`: a profile URL, or the bare id of a profile URN."""
    return recipient.profile_url or recipient.member_id or recipient.value
