"""Whether a conversation proves that the other person answered a step, from what a read
returned. Pure: the rules are here, the reads in `reply_check` and `inbox_sweep`.

A read can prove a reply, prove there is none, or prove nothing (`Undecided`): only the
second lets a follow-up go. Where the provider marks who wrote each message (ConnectSafely's
`isSentByOwner`) that mark decides. LinkUp's v1 messages name their sender only by display
name, so outreach finds the step it sent (same text, from the step's send on) and reads the
sender's name there as its own: any later message under another name is the other person's.
LinkUp's `total_other_member_message_count` of 0 proves that nobody answered, ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from worker.providers.reads import Conversation, SeenMessage

# Clocks differ (LinkedIn's, the provider's, ours): a message of theirs up to this long before
# our step's send counts as an answer to it. Erring this way can only stop a follow-up.
CLOCK_SLACK = timedelta(minutes=2)


@dataclass(frozen=True)
class Replied:
    text: str
    at: datetime


@dataclass(frozen=True)
class NoReply:
    pass


@dataclass(frozen=True)
class Undecided:
    reason: str


ReplyVerdict = Replied | NoReply | Undecided


def reply_since(read: Conversation, since: datetime, own_text: str) -> ReplyVerdict:
    """Whether the other person wrote after our step (text `own_text`, sent from `since`)."""
    if read.their_total == 0:
        return NoReply()
    boundary = since - CLOCK_SLACK
    recent = [m for m in read.messages if m.at >= boundary]
    if read.marks_authors:
        theirs = [m for m in recent if m.from_them is not False]
        if theirs:
            return _first(theirs)
        if read.complete:
            return NoReply()
        return Undecided("the read did not reach back to the step's send")
    return _by_sender_name(read, recent, boundary, own_text)


def _by_sender_name(
    read: Conversation, recent: list[SeenMessage], boundary: datetime, own_text: str
) -> ReplyVerdict:
    ours = [m for m in recent if _same_text(m.text, own_text)]
    if not ours:
        if read.complete or any(m.at < boundary for m in read.messages):
            return Undecided("the step's own message is not in the conversation")
        return Undecided("more messages since the step than one read returns")
    own = min(ours, key=lambda m: m.at)
    if own.sender_name is None:
        return Undecided("the step's own message names no sender")
    later = [m for m in recent if m.at > own.at]
    if any(m.sender_name is None for m in later):
        return Undecided("a message since the step names no sender")
    theirs = [m for m in later if m.sender_name != own.sender_name]
    return _first(theirs) if theirs else NoReply()


def _first(messages: list[SeenMessage]) -> Replied:
    first = min(messages, key=lambda m: m.at)
    return Replied(first.text, first.at)


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())
