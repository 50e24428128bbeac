"""LinkUp `POST /v1/messages/send-message`, and the reads `POST /v1/messages/conversation`
and `POST /v1/messages/inbox`.

Auth is the `x-api-key` header plus the account's LinkedIn `login_token` in the body. The body's
`status` ("success"/"error") says how it went, whatever the HTTP code. The API finds an existing
conversation by itself: a conversation URN is not needed and not sent.

Reads cost "1 credit per 10 results (or fraction thereof)", failed calls included (bar 500s):
a conversation is read 10 messages at a time (one credit), an inbox 20 conversations (two).
v1 messages name their sender by display name only (`worker.replies` says how that is read).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from worker.accounts import Account
from worker.errors import Problem
from worker.providers.answers import Answer
from worker.providers.base import (
    Capability,
    Provider,
    SendRequest,
    as_object,
    as_str,
    parse_epoch_ms,
    unsupported,
)
from worker.providers.http import Reply
from worker.providers.outcomes import SendOutcome, Sent
from worker.providers.reads import (
    Conversation,
    ConversationQuery,
    ConversationRead,
    InboxEntry,
    InboxPage,
    InboxRead,
    Participant,
    ReadFailed,
    SeenMessage,
)
from worker.recipients import Recipient, parse_recipient

SEND_PATH = "/v1/messages/send-message"
CONVERSATION_PATH = "/v1/messages/conversation"
INBOX_PATH = "/v1/messages/inbox"
CONVERSATION_PAGE = 10  # messages: one credit
INBOX_PAGE = 20  # conversations: two credits
# "use .png,.mp4,jpeg,.pdf link extension", as the page words it.
MEDIA_EXTENSIONS = (".png", ".mp4", ".jpeg", ".pdf")
# The documented errors, by the words the page lists them with ("Rate limiting from LinkedIn"
# is recognised by every adapter alike, in `Provider.answer_of`).
_INVALID_MESSAGE_WORDS = ("invalid profile url", "invalid media_file", "base64")
_TEMPORARY_WORDS = ("network", "permission")


class LinkUp(Provider):
    name = "linkup"
    capabilities = frozenset({Capability.SEND, Capability.READ_CONVERSATION, Capability.READ_INBOX})
    max_text_chars: ClassVar[int] = 8000
    text_limit_source: ClassVar[str] = "outreach's own limit for LinkUp (LinkUp documents none)"

    @classmethod
    def check_options(cls, request: SendRequest) -> list[Problem]:
        problems = unsupported(request, "LinkUp send-message", "subject", "inmail")
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

    def read_conversation(self, account: Account, query: ConversationQuery) -> ConversationRead:
        body = self._read_body(account, total_results=CONVERSATION_PAGE)
        if query.conversation:
            body["conversation_id"] = query.conversation
        else:
            body["linkedin_url"] = linkedin_url(query.recipient)
        data = self._read_data(CONVERSATION_PATH, account, body)
        if isinstance(data, ReadFailed):
            return data
        raw = data.get("messages")
        if not isinstance(raw, list):
            return ReadFailed("the answer has no messages list")
        messages = tuple(m for m in (_message(item) for item in raw) if m is not None)
        their_total = data.get("total_other_member_message_count")
        return Conversation(
            conversation=as_str(data.get("conversation_id")) or query.conversation,
            messages=messages,
            their_total=their_total if isinstance(their_total, int) else None,
            complete=data.get("has_next_page") is False or len(raw) < CONVERSATION_PAGE,
            marks_authors=False,
        )

    def read_inbox(self, account: Account, cursor: str | None) -> InboxRead:
        body = self._read_body(account, total_results=INBOX_PAGE)
        if cursor:
            body["next_cursor"] = cursor
        data = self._read_data(INBOX_PATH, account, body)
        if isinstance(data, ReadFailed):
            return data
        raw = data.get("conversations")
        if not isinstance(raw, list):
            return ReadFailed("the answer has no conversations list")
        entries = tuple(e for e in (_inbox_entry(item) for item in raw) if e is not None)
        # What next_cursor is on the last page the docs do not say: absent, null or empty.
        next_cursor = as_str(data.get("next_cursor")) if raw else None
        return InboxPage(entries, next_cursor)

    def _read_data(
        self, path: str, account: Account, body: dict[str, Any]
    ) -> dict[str, Any] | ReadFailed:
        """A read's `data`, when the answer is the documented success form."""
        reply = self.read("POST", path, {"x-api-key": account.api_key.reveal()}, body=body)
        if isinstance(reply, ReadFailed):
            return reply
        data = reply.body.get("data")
        if reply.body.get("status") != "success" or not isinstance(data, dict):
            return self.read_failure(reply)
        return data

    def _read_body(self, account: Account, **fields: Any) -> dict[str, Any]:
        assert account.login_token is not None  # the accounts file requires it for LinkUp
        body: dict[str, Any] = {"login_token": account.login_token.reveal(), **fields}
        if account.country is not None:
            body["country"] = account.country
        return body

    def recognise_error(self, status: int, reason: str) -> Answer | None:
        lowered = reason.lower()  # in the table's order
        if any(word in lowered for word in _TEMPORARY_WORDS):
            return Answer.TEMPORARY_ERROR
        if any(word in lowered for word in _INVALID_MESSAGE_WORDS):
            return Answer.INVALID_MESSAGE
        return None


def _message(item: object) -> SeenMessage | None:
    """A v1 message; SYSTEM ones ("you are now connected") are nobody's words."""
    if not isinstance(item, dict) or item.get("message_type") == "SYSTEM":
        return None
    at = parse_epoch_ms(item.get("timestamp"))
    if at is None:
        return None
    text = item.get("text")
    return SeenMessage(
        text=text if isinstance(text, str) else "",
        at=at,
        from_them=None,
        sender_name=as_str(item.get("sender")),
    )


def _inbox_entry(item: object) -> InboxEntry | None:
    """An inbox conversation. It describes "the other participant only (not yourself)"; the
    latest message is theirs when its sender is that participant, by name or profile URL
    (the docs' own example writes one person's URL in two forms)."""
    if not isinstance(item, dict):
        return None
    conversation = as_str(item.get("conversation_id"))
    person = as_object(item.get("participant"))
    last = as_object(item.get("last_message"))
    at = parse_epoch_ms(last.get("time"))
    if conversation is None or at is None:
        return None
    url = as_str(person.get("profile_url"))
    participant = Participant(
        name=as_str(person.get("name")), profile_url=url, member_id=_member_id_of(url)
    )
    sender = as_object(last.get("sender"))
    from_them = None
    if sender:
        sender_url = as_str(sender.get("profile_url"))
        sender_name = as_str(sender.get("name"))
        if (sender_url and sender_url == url) or (sender_name and sender_name == participant.name):
            from_them = True
        elif sender_name and participant.name:
            from_them = False
    text = last.get("text")
    return InboxEntry(
        conversation=conversation,
        participant=participant,
        last_at=at,
        last_text=text if isinstance(text, str) else "",
        last_from_them=from_them,
    )


def _member_id_of(url: str | None) -> str | None:
    """The member id of a /in/ACoAA… URL, the form LinkUp writes some profile URLs in."""
    if url is None:
        return None
    try:
        return parse_recipient(url.rstrip("/").rsplit("/", 1)[-1]).member_id
    except ValueError:
        return None


def linkedin_url(recipient: Recipient) -> str:
    """LinkUp's `linkedin_url`: a profile URL, or the bare id of a profile URN."""
    return recipient.profile_url or recipient.member_id or recipient.value
