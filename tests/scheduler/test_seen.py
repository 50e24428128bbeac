"""Duplicates across a whole file, a batch at a time, each pointed at its first line."""

from __future__ import annotations

from scheduler.seen import SeenRecipients


def test_repeats_within_and_across_batches_name_the_first_line() -> None:
    with SeenRecipients() as seen:
        assert seen.earlier([("a", 2), ("b", 3), ("a", 4)]) == {4: 2}
        assert seen.earlier([("c", 5), ("b", 6), ("b", 7), ("a", 8)]) == {6: 3, 7: 3, 8: 2}
        assert seen.earlier([("d", 9)]) == {}
        assert seen.earlier([]) == {}


def test_recipients_that_json_escapes_are_matched_as_written() -> None:
    odd = 'https://www.linkedin.com/in/zo\u00eb-"x"\\y'
    with SeenRecipients() as seen:
        assert seen.earlier([(odd, 2), ("b", 3)]) == {}
        assert seen.earlier([("c", 4), (odd, 5), (odd.upper(), 6)]) == {5: 2}
