"""ConnectSafely `POST /linkedin/messaging/send` and `POST /linkedin/conversations/send`.

Auth is `Authorization: Bearer`. InMail goes through messaging/send (`messageType: "inmail"`,
with a subject when given); everything else through conversations/send, which also serves Sales
Navigator accounts and can reply into an existing `conversationUrn`.

Reads: `GET /linkedin/conversations/{conversationUrn}/messages` marks each message
`isSentByOwner`; its URN comes from a send answer when it carries one, else from
`GET /linkedin/messaging/recent-messages` (the recipient among the 100 most recent
conversations), which is also the inbox. `since` is not used: its unit is not documented, and a
wrong guess would hide a reply; the newest messages are read and filtered here instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

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
)
from worker.providers.http import Reply
from worker.providers.outcomes import SendOutcome, Sent
from worker.providers.ratelimits import retry_at
from worker.providers.reads import (
    Conversation,
    ConversationQuery,
    ConversationRead,
    InboxEntry,
    InboxPage,
    InboxRead,
    Located,
    LookFurther,
    Participant,
    ReadFailed,
    SeenMessage,
)
from worker.recipients import PROFILE_URL_PREFIX, Recipient
from worker.replies import CLOCK_SLACK

MESSAGING_PATH = "/linkedin/messaging/send"
CONVERSATIONS_PATH = "/linkedin/conversations/send"
RECENT_PATH = "/linkedin/messaging/recent-messages"
MESSAGES_PATH = "/linkedin/conversations/{urn}/messages"
MESSAGES_PAGE = 20
RECENT_PAGE = 100  # the documented maximum
# conversations/send documents `attachments` only as "File attachments from upload-attachment
# endpoint", an endpoint its documentation does not describe.
ATTACHMENTS_UNDOCUMENTED = (
    "ConnectSafely takes attachments only from its upload-attachment endpoint, which its"
    " documentation does not describe, so outreach cannot send them; use media_link or"
    " media_file with a LinkUp account, or put a link in the text"
)


class ConnectSafely(Provider):
    name = "connectsafely"
    capabilities = frozenset({Capability.SEND, Capability.READ_CONVERSATION, Capability.READ_INBOX})
    max_text_chars: ClassVar[int] = 8000
    text_limit_source: ClassVar[str] = (
        "outreach's own limit for ConnectSafely (ConnectSafely documents none)"
    )

    @classmethod
    def check_options(cls, request: SendRequest) -> list[Problem]:
        problems = []
        if request.inmail and request.conversation_urn:
            problems.append(
                Problem(
                    "conversation_urn",
                    "an InMail goes through messaging/send, which takes no conversation URN",
                )
            )
        for field in ("media_link", "media_file"):
            if getattr(request, field) is not None:
                problems.append(Problem(field, ATTACHMENTS_UNDOCUMENTED))
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

    def read_conversation(self, account: Account, query: ConversationQuery) -> ConversationRead:
        if not query.conversation:
            return self._locate(account, query)
        path = MESSAGES_PATH.format(urn=quote(query.conversation, safe=""))
        params = self._params(account, count=str(MESSAGES_PAGE))
        reply = self.read("GET", path, self._headers(account), params=params)
        if isinstance(reply, ReadFailed):
            return reply
        raw = reply.body.get("messages")
        if reply.body.get("success") is not True or not isinstance(raw, list):
            return ReadFailed("the answer has no messages list", reply.status)
        # Their order is not documented: newest first, by their own times.
        messages = sorted(
            (m for m in (_message(item) for item in raw) if m is not None),
            key=lambda m: m.at,
            reverse=True,
        )
        reaches_back = bool(messages) and messages[-1].at < query.since - CLOCK_SLACK
        return Conversation(
            conversation=query.conversation,
            messages=tuple(messages),
            complete=reply.body.get("hasMore") is False or reaches_back,
        )

    def _locate(self, account: Account, query: ConversationQuery) -> ConversationRead:
        """Find the recipient's conversation in the inbox, one page per read, newest first.
        Our previous step went out at `since`, so their conversation has had activity since
        then: a page that reaches back further without it ends the search."""
        page = self.read_inbox(account, query.inbox_cursor)
        if isinstance(page, ReadFailed):
            return page
        ids = _ids_of(query)
        for entry in page.entries:
            if entry.participant.member_id in ids or entry.participant.profile_url in ids:
                return Located(entry.conversation)
        reaches_back = not page.entries or page.entries[-1].last_at < query.since - CLOCK_SLACK
        if reaches_back or page.next_cursor is None:
            return ReadFailed("no conversation with the recipient in the inbox since our step")
        return LookFurther(page.next_cursor)

    def read_inbox(self, account: Account, cursor: str | None) -> InboxRead:
        params = self._params(account, count=str(RECENT_PAGE))
        if cursor:
            params["nextCursor"] = cursor
        reply = self.read("GET", RECENT_PATH, self._headers(account), params=params)
        if isinstance(reply, ReadFailed):
            return reply
        raw = reply.body.get("conversations")
        if reply.body.get("success") is not True or not isinstance(raw, list):
            return ReadFailed("the answer has no conversations list", reply.status)
        own = as_str(reply.body.get("profileUrn")) or ""
        entries = tuple(e for e in (_inbox_entry(item, own) for item in raw) if e is not None)
        return InboxPage(entries, as_str(reply.body.get("nextCursor")) if raw else None)

    def _params(self, account: Account, **params: str) -> dict[str, str]:
        if account.account_id is not None:
            params["accountId"] = account.account_id
        return params

    def _headers(self, account: Account) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.api_key.reveal()}"}

    def recognise_error(self, status: int, reason: str) -> Answer | None:
        # 404 "Account not found" is the one documented error about anything in particular;
        # 400 "Bad request or send failed" could be the message, the recipient or a limit.
        return Answer.ACCOUNT_ERROR if status == 404 else None

    def retry_hint(self, reply: Reply) -> datetime | None:
        body = reply.body if isinstance(reply.body, dict) else {}
        return retry_at(reply.headers, self.clock(), body.get("holdUntil"))


def _message(item: object) -> SeenMessage | None:
    if not isinstance(item, dict):
        return None
    at = parse_epoch_ms(item.get("sentAt"))
    owner = item.get("isSentByOwner")
    if at is None:
        return None
    text = item.get("text")
    return SeenMessage(
        text=text if isinstance(text, str) else "",
        at=at,
        # Unmarked counts as theirs: a read may stop a follow-up wrongly, never send one.
        from_them=None if not isinstance(owner, bool) else not owner,
        sender_name=as_str(item.get("senderName")),
    )


def _inbox_entry(item: object, own_urn: str) -> InboxEntry | None:
    """A recent conversation. Its latest message names its sender by name only: it is theirs
    when that is the other participant's name."""
    if not isinstance(item, dict):
        return None
    conversation = as_str(item.get("conversationUrn")) or as_str(item.get("conversationId"))
    people = [p for p in item.get("participants") or [] if isinstance(p, dict)]
    others = [p for p in people if not _is_own(as_str(p.get("profileId")), own_urn)]
    latest = as_object(item.get("latestMessage"))
    at = parse_epoch_ms(latest.get("sentAt")) or parse_epoch_ms(item.get("lastActivityAt"))
    if conversation is None or at is None or len(others) != 1:
        return None  # a group conversation is nobody's reply to a campaign
    person = others[0]
    profile_id = as_str(person.get("profileId"))
    name = as_str(person.get("name"))
    sender = as_str(latest.get("senderName"))
    from_them = None if sender is None or name is None else sender == name
    text = latest.get("text")
    return InboxEntry(
        conversation=conversation,
        participant=Participant(
            name=name,
            # The docs' examples show profileId both as a member id and as a profile name.
            profile_url=f"{PROFILE_URL_PREFIX}{profile_id.lower()}" if profile_id else None,
            member_id=profile_id,
        ),
        last_at=at,
        last_text=text if isinstance(text, str) else "",
        last_from_them=from_them,
    )


def _is_own(profile_id: str | None, own_urn: str) -> bool:
    return bool(profile_id and own_urn.endswith(f":{profile_id}"))


def _ids_of(query: ConversationQuery) -> set[str]:
    """Every way the recipient may be named in an inbox entry."""
    ids = {query.recipient.member_id, query.recipient.profile_url}
    if query.recipient_urn:
        ids.add(query.recipient_urn.rsplit(":", 1)[-1])
    return {i for i in ids if i}


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
