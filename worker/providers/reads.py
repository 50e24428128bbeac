"""What a read came to, as values: a conversation's newest messages, a page of an inbox, or a
read that failed. Reads never send anything, so a failed one is only ever tried again later;
what matters is whether it proves anything (see `worker.replies`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from worker.recipients import Recipient


@dataclass(frozen=True)
class ConversationQuery:
    """Which conversation to read: with `recipient`, through the reading account, preferably by
    the id a send answer gave (`conversation`); only messages from `since` on matter."""

    recipient: Recipient
    since: datetime
    conversation: str | None = None
    recipient_urn: str | None = None  # the profile URN a send answer gave for the recipient
    inbox_cursor: str | None = None  # where looking for the conversation left off, if it did


@dataclass(frozen=True)
class SeenMessage:
    text: str
    at: datetime
    # Whether the other person wrote it; None when the answer does not say (LinkUp v1 names
    # the sender only by display name).
    from_them: bool | None
    sender_name: str | None = None


@dataclass(frozen=True)
class Conversation:
    """A conversation's newest messages, newest first, as far as the read went."""

    conversation: str | None
    messages: tuple[SeenMessage, ...]
    # LinkUp's `total_other_member_message_count`: messages the other person wrote, ever.
    their_total: int | None = None
    complete: bool = True  # False: older messages from `since` on may exist beyond the page
    # Whether each message says who wrote it (`SeenMessage.from_them`); else only by name.
    marks_authors: bool = True


@dataclass(frozen=True)
class Participant:
    """The other person of an inbox conversation, as the provider identifies them."""

    name: str | None = None
    profile_url: str | None = None
    member_id: str | None = None  # the ACoAA… id inside a profile URN


@dataclass(frozen=True)
class InboxEntry:
    conversation: str
    participant: Participant
    last_at: datetime  # the conversation's latest activity
    last_text: str
    last_from_them: bool | None  # None: the answer does not say who wrote the latest message


@dataclass(frozen=True)
class InboxPage:
    entries: tuple[InboxEntry, ...]  # most recent activity first
    next_cursor: str | None  # None: this was the last page


@dataclass(frozen=True)
class Located:
    """The read found which conversation is the recipient's, but not yet its messages (the
    provider needs a second read for those): keep it, read it at the next read slot."""

    conversation: str


@dataclass(frozen=True)
class LookFurther:
    """The recipient's conversation is not on this page of the inbox but may be on the next
    (it reaches back no further than our previous step): the next read starts at `cursor`."""

    cursor: str


PauseKind = Literal["rate_limit", "credentials"]


@dataclass(frozen=True)
class ReadFailed:
    """The read proved nothing; `pause` when the answer says the account must stop."""

    reason: str
    http_status: int | None = None
    pause: PauseKind | None = None
    retry_at: datetime | None = None


ConversationRead = Conversation | Located | LookFurther | ReadFailed
InboxRead = InboxPage | ReadFailed
