"""The sandbox's LinkUp reads: `POST /v1/messages/conversation` (one conversation's messages) and
`POST /v1/messages/inbox` (the account's conversations), in the shapes of the docs' examples.

Same auth as send-message. The reference pages list no errors of their own; the sandbox words
its few in send-message's shape (HTTP 200, `"status": "error"`), as every sandbox LinkUp error is.
A test wanting another form (a 404, or success with no messages) adds a `status` or `respond`
rule on the read path.
"""

from __future__ import annotations

from typing import Any

from worker.dev.sandbox.conversations import Conversation, Entry
from worker.dev.sandbox.dialect import Answer, Call, run_read
from worker.dev.sandbox.faults import FaultKind
from worker.dev.sandbox.linkup import (
    DIALECT,
    INVALID_PROFILE,
    is_profile,
    refuse_without_credentials,
)
from worker.dev.sandbox.paging import page_after, page_size, timestamp
from worker.dev.sandbox.state import SandboxState, fingerprint

CONVERSATION_PATH = "/v1/messages/conversation"
INBOX_PATH = "/v1/messages/inbox"
DEFAULT_PAGE_SIZE = 10  # both pages: "default 10"; neither gives a maximum

# The docs' own words for the rule ("Either `linkedin_url` OR `conversation_id` must be provided").
NEITHER_GIVEN = "Either linkedin_url or conversation_id must be provided"
# Undocumented: no page says what an account with no conversation with that person gets.
NOT_FOUND = "Conversation not found"


def _error(message: str) -> Answer:
    return DIALECT.error(200, message)


def get_conversation(state: SandboxState, call: Call) -> Answer:
    refused = refuse_without_credentials(call)
    if refused is not None:
        return refused
    body: dict[str, Any] = call.body
    sender = fingerprint(body["login_token"])

    def serve(_: frozenset[FaultKind]) -> Answer:
        size = page_size(body.get("total_results"), DEFAULT_PAGE_SIZE)
        if size is None:
            return _error("total_results must be a positive integer")
        try:
            before_ms = timestamp(body.get("cursor"))
        except ValueError:
            return _error("cursor must be the next_cursor of a previous answer")
        found = _find(state, sender, body)
        if isinstance(found, Answer):
            return found
        entries, has_next_page = found.page(size, before_ms=before_ms)
        data = _conversation_data(found, body, entries, has_next_page)
        return Answer(200, {"status": "success", "data": data})

    return run_read(state, DIALECT, sender, CONVERSATION_PATH, serve=serve)


def _find(state: SandboxState, sender: str, body: dict[str, Any]) -> Conversation | Answer:
    """The conversation the request names; `conversation_id` wins when both are given (the docs:
    it skips the profile lookup)."""
    conversation_id = body.get("conversation_id")
    profile = body.get("linkedin_url")
    if isinstance(conversation_id, str) and conversation_id:
        found = state.conversations.by_urn("linkup", sender, conversation_id)
    elif isinstance(profile, str) and profile:
        if not is_profile(profile):
            return _error(INVALID_PROFILE)
        found = state.conversations.with_person("linkup", sender, profile)
    else:
        return _error(NEITHER_GIVEN)
    return _error(NOT_FOUND) if found is None else found


def _conversation_data(
    conversation: Conversation, body: dict[str, Any], entries: list[Entry], has_next_page: bool
) -> dict[str, Any]:
    seen_at = conversation.seen_by_person_at
    data: dict[str, Any] = {"conversation_id": conversation.urn}
    if body.get("linkedin_url"):
        data["profile_url"] = body["linkedin_url"]  # "only included if provided in request"
    data.update(
        {
            "total_results": len(entries),
            "total_other_member_message_count": conversation.other_message_count,
            "unread_count": conversation.unread_count,
            # Undocumented: the sandbox takes these as the other person's last look at the
            # conversation, which it knows only from their latest message.
            "last_seen_message": seen_at is not None and seen_at >= conversation.last_activity_ms,
            "last_seen_at": seen_at,
            "messages": [_message(conversation, e) for e in entries],
            # "Timestamp of the last message" on this page; null on the last page (undocumented).
            "next_cursor": str(entries[-1].at_ms) if has_next_page else None,
            "has_next_page": has_next_page,
        }
    )
    return data


def _message(conversation: Conversation, entry: Entry) -> dict[str, Any]:
    author = conversation.author(entry)
    return {
        "text": entry.text,
        "timestamp": entry.at_ms,
        "sender": author.name,
        "sender_info": {"first_name": author.first_name, "last_name": author.last_name},
        "message_type": "TEXT",
        "entity_urn": entry.urn,
    }


def get_inbox(state: SandboxState, call: Call) -> Answer:
    refused = refuse_without_credentials(call)
    if refused is not None:
        return refused
    body: dict[str, Any] = call.body
    sender = fingerprint(body["login_token"])

    def serve(_: frozenset[FaultKind]) -> Answer:
        size = page_size(body.get("total_results"), DEFAULT_PAGE_SIZE)
        if size is None:
            return _error("total_results must be a positive integer")
        # `category` is taken and ignored: its values are undocumented, and every sandbox
        # conversation is an ordinary inbox one.
        conversations = state.conversations.of_sender("linkup", sender)
        try:
            page, next_cursor = page_after(conversations, _position, body.get("next_cursor"), size)
        except ValueError:
            return _error("next_cursor must be the next_cursor of a previous answer")
        data = {
            "conversations": [_inbox_item(c) for c in page],
            "total_results": len(page),
            "next_cursor": next_cursor,  # null on the last page: undocumented, the sandbox's choice
        }
        return Answer(200, {"status": "success", "data": data})

    return run_read(state, DIALECT, sender, INBOX_PATH, serve=serve)


def _position(conversation: Conversation) -> tuple[int, str]:
    return conversation.last_activity_ms, conversation.thread_id


def _inbox_item(conversation: Conversation) -> dict[str, Any]:
    person = conversation.person
    latest = conversation.entries[-1]  # a conversation starts with a send: never empty
    author = conversation.author(latest)
    return {
        "conversation_id": conversation.urn,
        # "Each conversation includes details about the other participant only (not yourself)"
        "participant": {
            "name": person.name,
            "headline": person.headline,
            "profile_url": person.vanity_url,
            "profile_picture": person.picture,
        },
        "last_message": {
            "text": latest.text,
            "time": latest.at_ms,
            # As in the docs' example: the sender's profile URL is the URN-style one, even when
            # the sender is the participant shown above with a vanity URL.
            "sender": {
                "name": author.name,
                "headline": author.headline,
                "profile_url": author.member_url,
                "profile_picture": author.picture,
            },
        },
        "unread": conversation.unread_count,
        "type": "normal",
    }
