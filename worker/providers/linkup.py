"""LinkUp `POST /v1/messages/send-message`.

Auth is the `x-api-key` header plus the account's LinkedIn `login_token` in the body. LinkUp v1
answers many failures with HTTP 200 and `"status": "error"`, so the body decides, not the code.
The API finds an existing conversation by itself: a conversation URN is not needed and not sent.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.base import (
    Provider,
    SendRequest,
    as_str,
    check_text,
    mentions_rate_limit,
    parse_epoch_ms,
    unsupported,
)
from worker.providers.http import Reply, error_text, exchange
from worker.providers.outcomes import RateLimited, Rejected, SendOutcome, Sent, Unknown
from worker.providers.ratelimits import retry_at
from worker.recipients import Recipient

SEND_PATH = "/v1/messages/send-message"
MEDIA_EXTENSIONS = (".png", ".mp4", ".jpeg", ".jpg", ".pdf")
MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "video/mp4", "application/pdf"})
# Words in an error that mean the account, not the message, is at fault.
_ACCOUNT_WORDS = (
    "login_token",
    "login token",
    "cookie",
    "session",
    "api key",
    "unauthorized",
    "credits",
)


class LinkUp(Provider):
    name = "linkup"
    # LinkUp documents no limit; this is LinkedIn's own cap on a message.
    max_text_chars: ClassVar[int] = 8000

    @classmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        problems = check_text(request.text, cls.max_text_chars)
        problems += unsupported(request, "LinkUp send-message", "subject", "inmail")
        if request.media_link is not None:
            url = urlsplit(request.media_link)
            if url.scheme not in ("http", "https") or not url.netloc:
                problems.append(Problem("media_link", "must be an http(s) URL"))
            elif not url.path.lower().endswith(MEDIA_EXTENSIONS):
                problems.append(
                    Problem("media_link", f"must end in one of {', '.join(MEDIA_EXTENSIONS)}")
                )
        elif request.media_file is not None and request.media_file.content_type not in MEDIA_TYPES:
            problems.append(
                Problem("media_file", f"type must be one of {', '.join(sorted(MEDIA_TYPES))}")
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
        reply = exchange(
            self.client,
            "POST",
            self.base_url + SEND_PATH,
            headers={"x-api-key": account.api_key.reveal()},
            json=body,
        )
        if not isinstance(reply, Reply):
            return reply
        return self.classify(reply)

    def classify(self, reply: Reply) -> SendOutcome:
        body = reply.body if isinstance(reply.body, dict) else {}
        status = body.get("status")
        if 200 <= reply.status < 300 and status == "success":
            raw = body.get("data")
            data = raw if isinstance(raw, dict) else {}
            return Sent(
                message_urn=as_str(data.get("entityUrn")),
                conversation_urn=as_str(data.get("conversation_id")),
                delivered_at=parse_epoch_ms(data.get("deliveredAt")),
                http_status=reply.status,
            )
        if status == "error":
            return self._classify_error(reply, error_text(reply))
        if 200 <= reply.status < 300:
            return Unknown(
                f"answer says neither success nor error: {error_text(reply)}", reply.status
            )
        return self.classify_failure(reply)

    def _classify_error(self, reply: Reply, reason: str) -> SendOutcome:
        if mentions_rate_limit(reason):
            return RateLimited(reason, retry_at(reply.headers, self.clock()), reply.status)
        if any(word in reason.lower() for word in _ACCOUNT_WORDS):
            return Rejected(reason, account_level=True, http_status=reply.status)
        if reply.status >= 300:
            return self.classify_failure(reply)
        return Rejected(reason, http_status=reply.status)


def linkedin_url(recipient: Recipient) -> str:
    """LinkUp's `linkedin_url`: a profile URL, or the bare id of a profile URN."""
    return recipient.profile_url or recipient.member_id or recipient.value
