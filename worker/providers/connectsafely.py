"""ConnectSafely `POST /linkedin/messaging/send` and `POST /linkedin/conversations/send`.

Auth is `Authorization: Bearer`. InMail goes through messaging/send (`messageType: "inmail"`
with a subject); everything else through conversations/send, which ConnectSafely prefers for
ordinary messages and which can reply into an existing `conversationUrn`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.base import Provider, SendRequest, as_str, check_text
from worker.providers.http import Reply, error_text, exchange
from worker.providers.outcomes import Rejected, SendOutcome, Sent
from worker.recipients import Recipient

MESSAGING_PATH = "/linkedin/messaging/send"
CONVERSATIONS_PATH = "/linkedin/conversations/send"
_NO_ATTACHMENTS = (
    "ConnectSafely takes attachments only from its upload-attachment endpoint, which outreach"
    " does not call; put a link in the text instead"
)


class ConnectSafely(Provider):
    name = "connectsafely"
    # ConnectSafely documents no limit; this is LinkedIn's own cap on a message.
    max_text_chars: ClassVar[int] = 8000

    @classmethod
    def check(cls, request: SendRequest) -> list[Problem]:
        problems = check_text(request.text, cls.max_text_chars)
        if request.inmail and not (request.subject and request.subject.strip()):
            problems.append(Problem("subject", "an InMail needs a subject"))
        if request.inmail and request.conversation_urn:
            problems.append(
                Problem("conversation_urn", "an InMail starts a conversation; it cannot reply")
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
        reply = exchange(
            self.client,
            "POST",
            self.base_url + path,
            headers={"Authorization": f"Bearer {account.api_key.reveal()}"},
            json=body,
        )
        if not isinstance(reply, Reply):
            return reply
        return self.classify(reply, request)

    def classify(self, reply: Reply, request: SendRequest) -> SendOutcome:
        body = reply.body if isinstance(reply.body, dict) else {}
        if 200 <= reply.status < 300 and body.get("success") is True:
            sent_message = body.get("sentMessage")
            details = sent_message if isinstance(sent_message, dict) else {}
            return Sent(
                message_urn=as_str(details.get("entityUrn")),
                conversation_urn=as_str(details.get("conversationUrn")) or request.conversation_urn,
                thread_id=as_str(body.get("threadId")),
                recipient_urn=as_str(body.get("recipientProfileUrn")),
                http_status=reply.status,
            )
        if 200 <= reply.status < 300 and body.get("success") is False:
            return Rejected(error_text(reply), http_status=reply.status)
        if reply.status == 404:
            # The one documented 404 is "Account not found": the sender, not the message.
            return Rejected(error_text(reply), account_level=True, http_status=404)
        return self.classify_failure(reply, hold_until=body.get("holdUntil"))


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
