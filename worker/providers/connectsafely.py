"""ConnectSafely `POST /linkedin/messaging/send` and `POST /linkedin/conversations/send`.

Auth is `Authorization: Bearer`. InMail goes through messaging/send (`messageType: "inmail"`,
with a subject when given); everything else through conversations/send, which also serves Sales
Navigator accounts and can reply into an existing `conversationUrn`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.answers import Answer
from worker.providers.base import Provider, SendRequest, as_str, check_text
from worker.providers.http import Reply
from worker.providers.outcomes import SendOutcome, Sent
from worker.providers.ratelimits import retry_at
from worker.recipients import Recipient

MESSAGING_PATH = "/linkedin/messaging/send"
CONVERSATIONS_PATH = "/linkedin/conversations/send"
_NO_ATTACHMENTS = (
    "ConnectSafely takes attachments only from its upload-attachment endpoint, which outreach"
    " does not call; put a link in the text instead"
)


class ConnectSafely(Provider):
    name = "connectsafely"
    max_text_chars: ClassVar[int] = 8000
    text_limit_source: ClassVar[str] = (
        "outreach's own limit for ConnectSafely (ConnectSafely documents none)"
    )

    @classmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        problems = check_text(request.text, cls.max_text_chars, cls.text_limit_source)
        if request.inmail and request.conversation_urn:
            problems.append(
                Problem(
                    "conversation_urn",
                    "an InMail goes through messaging/send, which takes no conversation URN",
                )
            )
        for field in ("media_link", "media_file"):
            if getattr(request, field) is not None:
                problems.append(Problem(field, _NO_ATTACHMENTS))
        return problems

    def send(self, account: Account, request: SendRequest) -> SendOutcome:
        refused = self.refuse_invalid(request)
        if refused is not None:
            return refused
        path, body = request_for(account, request)
        headers = {"Authorization": f"Bearer {account.api_key.reveal()}"}
        reply = self.post(path, headers, body)
        if not isinstance(reply, Reply):
            return reply
        return self.classify(reply, request)

    def is_success(self, body: dict[str, Any]) -> bool:
        return body.get("success") is True

    def success(self, body: dict[str, Any], reply: Reply, request: SendRequest) -> SendOutcome:
        # `sentMessage` is documented only as an object: its ids are read if present.
        sent_message = body.get("sentMessage")
        details = sent_message if isinstance(sent_message, dict) else {}
        return Sent(
            message_urn=as_str(details.get("entityUrn")),
            conversation_urn=as_str(details.get("conversationUrn")) or request.conversation_urn,
            thread_id=as_str(body.get("threadId")),
            recipient_urn=as_str(body.get("recipientProfileUrn")),
            http_status=reply.status,
        )

    def recognise_error(self, status: int, reason: str) -> Answer | None:
        # 404 "Account not found" is the one documented error about anything in particular;
        # 400 "Bad request or send failed" could be the message, the recipient or a limit.
        return Answer.ACCOUNT_ERROR if status == 404 else None

    def retry_hint(self, reply: Reply) -> datetime | None:
        body = reply.body if isinstance(reply.body, dict) else {}
        return retry_at(reply.headers, self.clock(), body.get("holdUntil"))


def request_for(account: Account, request: SendRequest) -> tuple[str, dict[str, Any]]:
    """The endpoint and JSON body for `request`."""
    body: dict[str, Any] = {}
    if account.account_id is not None:
        body["accountId"] = account.account_id
    body.update(recipient_fields(request.recipient))
    body["message"] = request.text
    if request.subject:
        body["subject"] = request.subject
    if request.inmail:
        body["messageType"] = "inmail"
        return MESSAGING_PATH, body
    if request.conversation_urn:
        body["conversationUrn"] = request.conversation_urn
    return CONVERSATIONS_PATH, body


def recipient_fields(recipient: Recipient) -> dict[str, str]:
    """The URN when we have one (ConnectSafely prefers it), else the public profile id."""
    if recipient.kind == "urn":
        return {"recipientProfileUrn": recipient.value}
    public_id = recipient.public_id
    assert public_id is not None  # a URL or a public id always has one
    return {"recipientProfileId": public_id}
