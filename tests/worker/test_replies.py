"""What a conversation read proves: a reply, none, or nothing (then no follow-up goes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.providers.reads import Conversation, SeenMessage
from worker.replies import NoReply, Replied, Undecided, reply_since

STEP_SENT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
STEP_TEXT = "Hi Ann, quick question about your team"


def at(minutes: float) -> datetime:
    return STEP_SENT + timedelta(minutes=minutes)


def marked(*messages: tuple[str, float, bool], complete: bool = True) -> Conversation:
    """A conversation whose messages say who wrote them (ConnectSafely), newest first."""
    seen = [SeenMessage(text, at(m), from_them=theirs) for text, m, theirs in messages]
    return Conversation("c1", tuple(sorted(seen, key=lambda s: s.at, reverse=True)), None, complete)


def named(*messages: tuple[str, float, str], their_total: int | None = 1) -> Conversation:
    """A LinkUp v1 conversation: senders by display name only."""
    seen = [SeenMessage(text, at(m), None, name) for text, m, name in messages]
    ordered = tuple(sorted(seen, key=lambda s: s.at, reverse=True))
    return Conversation("c1", ordered, their_total, complete=True, marks_authors=False)


def test_an_answer_after_the_step_is_a_reply() -> None:
    read = marked((STEP_TEXT, 0, False), ("Yes, let's talk", 30, True))
    assert reply_since(read, STEP_SENT, STEP_TEXT) == Replied("Yes, let's talk", at(30))


def test_only_our_messages_since_the_step_is_no_reply() -> None:
    read = marked(("old answer", -600, True), (STEP_TEXT, 0, False))
    assert reply_since(read, STEP_SENT, STEP_TEXT) == NoReply()


def test_a_page_that_does_not_reach_the_step_proves_nothing() -> None:
    read = marked((STEP_TEXT, 5, False), complete=False)
    assert isinstance(reply_since(read, STEP_SENT, STEP_TEXT), Undecided)


def test_the_first_of_several_answers_is_the_one_recorded() -> None:
    read = marked((STEP_TEXT, 0, False), ("a", 10, True), ("b", 20, True))
    assert reply_since(read, STEP_SENT, STEP_TEXT) == Replied("a", at(10))


def test_linkup_no_message_of_theirs_ever_is_no_reply() -> None:
    read = named((STEP_TEXT, 0, "Sam Sender"), their_total=0)
    assert reply_since(read, STEP_SENT, STEP_TEXT) == NoReply()


def test_linkup_a_later_message_under_another_name_is_a_reply() -> None:
    read = named((STEP_TEXT, 0, "Sam Sender"), ("Sure!", 45, "Ann Answer"))
    assert reply_since(read, STEP_SENT, STEP_TEXT) == Replied("Sure!", at(45))


def test_linkup_only_our_own_name_after_the_step_is_no_reply() -> None:
    read = named(("Earlier chat", -900, "Ann Answer"), (STEP_TEXT, 0, "Sam Sender"))
    assert reply_since(read, STEP_SENT, STEP_TEXT) == NoReply()


def test_linkup_without_our_step_in_the_page_nothing_is_proven() -> None:
    read = named(("something else", 10, "Ann Answer"), ("older", -900, "Sam Sender"))
    assert isinstance(reply_since(read, STEP_SENT, STEP_TEXT), Undecided)


def test_whitespace_differences_still_find_our_step() -> None:
    read = named(("Hi Ann,  quick question\nabout your team", 0, "Sam"), ("ok", 3, "Ann"))
    assert reply_since(read, STEP_SENT, STEP_TEXT) == Replied("ok", at(3))
