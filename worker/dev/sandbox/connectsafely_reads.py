"""The sandbox's ConnectSafely reads: `GET /linkedin/messaging/recent-messages` (the account's
conversations) and `GET /linkedin/conversations/{conversationUrn}/messages` (one conversation's
messages), in the shapes of the docs' examples.

Same auth as the sends (Bearer key; `accountId` names the account, here as a query parameter).
Errors are `{"error": …}`: the documented 401 and 404 "Conversation not found", and a 400 for a
query value the sandbox cannot use (the pages list none; the send pages' "Bad request").

People are named in `profileId` and `senderProfileId` by member id (`ACoAA…`), the id in the
`recipientProfileUrn` the send answers: the docs' examples disagree (one shows a member id,
another a public id); the `slug_profile_ids` fault gives the other.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from worker.dev.sandbox import faults, people
from worker.dev.sandbox.connectsafely import DIALECT, account_of, bearer_token, unauthorized
from worker.dev.sandbox.conversations import Conversation, Entry
from worker.dev.sandbox.dialect import Answer, Call, run_read
from worker.dev.sandbox.faults import FaultKind
from worker.dev.sandbox.paging import page_after, page_size, timestamp
from worker.dev.sandbox.people import Person
from worker.dev.sandbox.state import SandboxState

# Defined beside the fault kinds that shape these reads alone.
RECENT_MESSAGES_PATH = faults.RECENT_MESSAGES_PATH
MESSAGES_PATH = faults.CONVERSATION_MESSAGES_PATH
MESSAGES_ROUTE = re.compile(r"^/linkedin/conversations/([^/]+)/messages$")
RECENT_DEFAULT_COUNT, RECENT_MAX_COUNT = 20, 100  # "default: 20, max: 100"
# The messages page gives no default; a docs mirror says 50. No maximum is published.
MESSAGES_DEFAULT_COUNT = 50
# `note` is a string with no description; the sandbox says something no client should parse.
NOTE = "Served from the sandbox's message store"


def _error(status: int, message: str) -> Answer:
    return DIALECT.error(status, message)


def recent_messages(state: SandboxState, call: Call) -> Answer:
    token = bearer_token(call)
    if token is None:
        return unauthorized()
    sender = account_of(call.query.get("accountId"), token)

    def serve(shapes: frozenset[FaultKind]) -> Answer:
        size = page_size(call.query.get("count"), RECENT_DEFAULT_COUNT, RECENT_MAX_COUNT)
        if size is None:
            return _error(400, "count must be a positive number")
        read = call.query.get("read")
        if read not in (None, "true", "false"):
            return _error(400, 'read must be "true" or "false"')
        conversations = [
            c
            for c in state.conversations.of_sender("connectsafely", sender)
            if _kept(c, call.query.get("keywords"), read)
        ]
        try:
            page, next_cursor = page_after(
                conversations, _position, call.query.get("nextCursor"), size
            )
        except ValueError:
            return _error(400, "nextCursor must be the nextCursor of a previous answer")
        slugs = "slug_profile_ids" in shapes
        return Answer(
            200,
            {
                "success": True,
                "accountId": sender,
                "profileUrn": people.account_owner(sender).urn,
                "total": len(page),  # undocumented: the conversations in this answer
                "nextCursor": next_cursor,  # "If nextCursor is null, there are no more pages"
                "conversations": [_summary(c, slugs) for c in page],
            },
        )

    return run_read(state, DIALECT, sender, RECENT_MESSAGES_PATH, serve=serve)


def _kept(conversation: Conversation, keywords: str | None, read: str | None) -> bool:
    """The documented filters: `keywords` matches participants and messages, case-insensitive
    and partial; `read` "true" keeps read conversations, "false" unread ones."""
    if read is not None and (conversation.unread_count == 0) != (read == "true"):
        return False
    if not keywords:
        return True
    person = conversation.person
    haystack = [person.name, person.headline, *(e.text for e in conversation.entries)]
    return any(keywords.lower() in text.lower() for text in haystack)


def _position(conversation: Conversation) -> tuple[int, str]:
    return conversation.last_activity_ms, conversation.thread_id


def _summary(conversation: Conversation, slugs: bool) -> dict[str, Any]:
    latest = conversation.entries[-1]  # a conversation starts with a send: never empty
    return {
        "conversationId": conversation.thread_id,
        "conversationUrn": conversation.urn,
        "participants": [_participant(conversation.person, slugs)],  # the other person only
        "unreadCount": conversation.unread_count,
        "lastActivityAt": conversation.last_activity_ms,
        "latestMessage": {
            "text": latest.text,
            "sentAt": latest.at_ms,
            "senderName": conversation.author(latest).name,
            "hasAttachment": False,
        },
    }


def _participant(person: Person, slugs: bool) -> dict[str, Any]:
    return {
        "profileId": _profile_id(person, slugs),
        "name": person.name,
        "headline": person.headline,
        "profilePicture": person.picture,
    }


def _profile_id(person: Person, slugs: bool) -> str:
    return person.slug if slugs else person.member_id


def conversation_messages(state: SandboxState, call: Call) -> Answer:
    token = bearer_token(call)
    if token is None:
        return unauthorized()
    sender = account_of(call.query.get("accountId"), token)
    route = MESSAGES_ROUTE.match(call.path)
    urn = unquote(route.group(1)) if route else ""

    def serve(shapes: frozenset[FaultKind]) -> Answer:
        size = page_size(call.query.get("count"), MESSAGES_DEFAULT_COUNT)
        if size is None:
            return _error(400, "count must be a positive number")
        try:
            # Both "Timestamp"s with no unit given: ms, as every other time these pages show.
            before_ms = timestamp(call.query.get("cursor"))
            since_ms = timestamp(call.query.get("since"))
        except ValueError:
            return _error(400, "cursor and since must be timestamps in ms")
        # `sync` ("wait for LinkedIn") is taken and ignored: the sandbox is its own LinkedIn.
        conversation = state.conversations.by_urn("connectsafely", sender, urn)
        if conversation is None:
            return _error(404, "Conversation not found")
        entries, has_more = conversation.page(size, before_ms=before_ms, after_ms=since_ms)
        return Answer(200, _messages_answer(conversation, entries, has_more, shapes))

    return run_read(state, DIALECT, sender, MESSAGES_PATH, serve=serve)


def _messages_answer(
    conversation: Conversation,
    entries: list[Entry],
    has_more: bool,
    shapes: frozenset[FaultKind],
) -> dict[str, Any]:
    slugs = "slug_profile_ids" in shapes
    # Undocumented order: newest first, as the other three read endpoints; a fault reverses it.
    ordered = list(reversed(entries)) if "oldest_first" in shapes else entries
    messages = []
    for entry in ordered:
        author = conversation.author(entry)
        messages.append(
            {
                "messageUrn": entry.urn,
                "text": entry.text,
                "sentAt": entry.at_ms,
                "senderProfileId": _profile_id(author, slugs),
                "senderName": author.name,
                "senderPhoto": author.picture,
                "isSentByOwner": entry.by_owner and "owner_flag_false" not in shapes,
                "hasAttachment": False,
                "attachments": [],
            }
        )
    return {
        "success": True,
        "messages": messages,
        "participants": [_participant(conversation.person, slugs)],  # the other person only
        "hasMore": has_more,
        # Undocumented: the oldest message's timestamp, to pass back as `cursor` for older ones
        # (null when the page is empty); `hasMore` says whether there are any.
        "cursor": str(entries[-1].at_ms) if entries else None,
        "note": NOTE,
    }
