"""Each sender's LinkedIn conversations, as the read endpoints serve them: every delivered send
adds the sender's message, and a test (through the control API) adds the recipient's answers.

A conversation belongs to one provider's sender and one other person; that person is found
however a request spells them (see `people`). Timestamps are ms since the epoch, unique within
a conversation so that a timestamp cursor never skips a message. Thread-safe.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from worker.dev.sandbox import people
from worker.dev.sandbox.ids import fake_id, fake_member_id
from worker.dev.sandbox.people import Person

_THREAD_IN_URN = re.compile(r",([^,()]+)\)$")


@dataclass(frozen=True)
class Entry:
    """One message in a conversation."""

    urn: str
    text: str
    at_ms: int
    by_owner: bool


@dataclass
class Conversation:
    provider: str
    sender: str  # the sandbox's name for the account (see `control.sender_of`)
    owner: Person  # the account's own LinkedIn member
    person: Person  # the other participant
    urn: str  # urn:li:msg_conversation:(<owner's profile URN>,<thread id>)
    thread_id: str  # the "2-…" part: ConnectSafely's conversationId
    entries: list[Entry] = field(default_factory=list)  # oldest first

    @property
    def last_activity_ms(self) -> int:
        return self.entries[-1].at_ms if self.entries else 0

    @property
    def last_entry(self) -> Entry | None:
        return self.entries[-1] if self.entries else None

    def author(self, entry: Entry) -> Person:
        return self.owner if entry.by_owner else self.person

    @property
    def other_message_count(self) -> int:
        return sum(not e.by_owner for e in self.entries)

    @property
    def unread_count(self) -> int:
        # The sandbox has no "mark as read" (no documented read endpoint marks anything): the
        # account has read what came before its own latest message, since it answered after.
        own = [e.at_ms for e in self.entries if e.by_owner]
        read_until = own[-1] if own else 0
        return sum(not e.by_owner and e.at_ms > read_until for e in self.entries)

    @property
    def seen_by_person_at(self) -> int | None:
        """When the other person last saw the conversation: their latest message, as far as
        the sandbox can know."""
        theirs = [e.at_ms for e in self.entries if not e.by_owner]
        return theirs[-1] if theirs else None

    def page(
        self, size: int, before_ms: int | None = None, after_ms: int | None = None
    ) -> tuple[list[Entry], bool]:
        """Up to `size` messages, newest first, older than `before_ms` and newer than
        `after_ms`; and whether more (older) ones match."""
        chosen = [
            e
            for e in reversed(self.entries)
            if (before_ms is None or e.at_ms < before_ms)
            and (after_ms is None or e.at_ms > after_ms)
        ]
        return chosen[:size], len(chosen) > size

    def add(self, text: str, at_ms: int, *, by_owner: bool, message_id: str) -> Entry:
        taken = {e.at_ms for e in self.entries}
        while at_ms in taken:
            at_ms += 1
        entry = Entry(f"urn:li:msg_message:({self.owner.urn},{message_id})", text, at_ms, by_owner)
        bisect.insort(self.entries, entry, key=lambda e: e.at_ms)
        return entry

    def view(self) -> dict[str, Any]:
        """The control API's picture of the conversation, for tests."""
        return {
            "provider": self.provider,
            "sender": self.sender,
            "conversation_urn": self.urn,
            "thread_id": self.thread_id,
            "owner": _person_view(self.owner),
            "person": _person_view(self.person),
            "messages": [
                {
                    "urn": e.urn,
                    "text": e.text,
                    "at_ms": e.at_ms,
                    "by_owner": e.by_owner,
                    "sender_name": self.author(e).name,
                }
                for e in self.entries
            ],
        }


def _person_view(person: Person) -> dict[str, str]:
    return {"member_id": person.member_id, "slug": person.slug, "name": person.name}


def now_ms() -> int:
    return int(time.time() * 1000)


class Conversations:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._all: list[Conversation] = []
        # Indexes, so a sender with 10,000 conversations is not scanned on every send.
        self._of: dict[tuple[str, str], list[Conversation]] = defaultdict(list)
        self._named: dict[tuple[str, str, str], list[Conversation]] = defaultdict(list)
        self._urns: dict[tuple[str, str, str], Conversation] = {}

    def record_send(
        self,
        provider: str,
        sender: str,
        *,
        recipient: str,
        text: str,
        message_id: str,
        conversation_urn: str | None = None,
    ) -> tuple[Conversation, Entry]:
        """Add a delivered send: to the conversation `conversation_urn` names (ConnectSafely's
        conversations/send), else to the one with `recipient`, made on the first message."""
        with self._lock:
            found = (
                self._by_urn(provider, sender, conversation_urn)
                if conversation_urn
                else self._with_person(provider, sender, recipient)
            )
            if found is None:
                found = self._start(provider, sender, recipient, conversation_urn)
            entry = found.add(text, now_ms(), by_owner=True, message_id=message_id)
            return _copy(found), entry

    def record_reply(
        self, sender: str, recipient: str, text: str, at_ms: int | None = None
    ) -> tuple[Conversation, Entry] | None:
        """The recipient answers `sender`; None when the two have no conversation."""
        with self._lock:
            candidates = [
                c for c in self._all if c.sender == sender and c.person.is_named_by(recipient)
            ]
            if not candidates:
                return None
            found = max(candidates, key=lambda c: c.last_activity_ms)
            message_id = f"2-{uuid.uuid4()}"
            at_ms = now_ms() if at_ms is None else at_ms
            entry = found.add(text, at_ms, by_owner=False, message_id=message_id)
            return _copy(found), entry

    def by_urn(self, provider: str, sender: str, urn: str) -> Conversation | None:
        with self._lock:
            found = self._by_urn(provider, sender, urn)
            return None if found is None else _copy(found)

    def with_person(self, provider: str, sender: str, spelling: str) -> Conversation | None:
        with self._lock:
            found = self._with_person(provider, sender, spelling)
            return None if found is None else _copy(found)

    def of_sender(self, provider: str, sender: str) -> list[Conversation]:
        """The sender's conversations, most recent activity first."""
        with self._lock:
            mine = [_copy(c) for c in self._of.get((provider, sender), [])]
        return sorted(mine, key=lambda c: (c.last_activity_ms, c.thread_id), reverse=True)

    def views(self) -> list[dict[str, Any]]:
        with self._lock:
            return [c.view() for c in self._all]

    def clear(self) -> None:
        with self._lock:
            self._all.clear()
            self._of.clear()
            self._named.clear()
            self._urns.clear()

    def _by_urn(self, provider: str, sender: str, urn: str) -> Conversation | None:
        return self._urns.get((provider, sender, urn))

    def _with_person(self, provider: str, sender: str, spelling: str) -> Conversation | None:
        member_id, slug = people.parse_spelling(spelling)
        names = [member_id] if member_id else [slug, fake_member_id(slug)] if slug else []
        mine = {
            id(c): c
            for name in names
            for c in self._named.get((provider, sender, name), [])
            if c.person.is_named_by(spelling)
        }
        return max(mine.values(), key=lambda c: c.last_activity_ms, default=None)

    def _start(self, provider: str, sender: str, recipient: str, urn: str | None) -> Conversation:
        owner = people.account_owner(sender)
        if urn is None:
            person = people.recipient(recipient)
            thread_id = f"2-{fake_id(sender + person.member_id)}"
            urn = f"urn:li:msg_conversation:({owner.urn},{thread_id})"
        else:
            # A conversation the sandbox never saw, named by URN alone: the provider took the
            # send, so LinkedIn has it; its other member is made up from the URN.
            person = people.recipient(recipient or fake_member_id(urn))
            thread = _THREAD_IN_URN.search(urn)
            thread_id = thread.group(1) if thread else f"2-{fake_id(urn)}"
        conversation = Conversation(provider, sender, owner, person, urn, thread_id)
        self._all.append(conversation)
        self._of[(provider, sender)].append(conversation)
        for name in (person.member_id, person.slug):
            self._named[(provider, sender, name)].append(conversation)
        self._urns.setdefault((provider, sender, urn), conversation)
        return conversation


def _copy(conversation: Conversation) -> Conversation:
    """A snapshot a handler can read while other threads add messages."""
    return replace(conversation, entries=list(conversation.entries))
