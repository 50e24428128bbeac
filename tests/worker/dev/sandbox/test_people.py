"""One person however a request spells them: the sandbox's rule, as a table."""

from __future__ import annotations

import pytest

from worker.dev.sandbox.ids import fake_member_id
from worker.dev.sandbox.people import account_owner, parse_spelling, recipient

MEMBER_ID = "ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e"


@pytest.mark.parametrize(
    ("spelling", "parsed"),
    [
        ("https://www.linkedin.com/in/Jane-Doe/", (None, "jane-doe")),
        ("http://fr.linkedin.com/in/jane-doe?trk=people#x", (None, "jane-doe")),
        ("https://www.linkedin.com/in/j%C3%A9r%C3%B4me-x", (None, "jérôme-x")),
        ("Jane-Doe", (None, "jane-doe")),
        ("acme-corporation-ltd", (None, "acme-corporation-ltd")),
        (MEMBER_ID, (MEMBER_ID, None)),
        (f"https://www.linkedin.com/in/{MEMBER_ID}", (MEMBER_ID, None)),
        (f"urn:li:fsd_profile:{MEMBER_ID}", (MEMBER_ID, None)),
        (f"urn:li:person:{MEMBER_ID}", (MEMBER_ID, None)),
        ("  ", (None, None)),
    ],
)
def test_a_spelling_names_a_member_id_or_a_slug(
    spelling: str, parsed: tuple[str | None, str | None]
) -> None:
    assert parse_spelling(spelling) == parsed


@pytest.mark.parametrize(
    ("first", "later", "same"),
    [
        ("jane-doe", "https://www.linkedin.com/in/JANE-DOE", True),
        ("jane-doe", fake_member_id("jane-doe"), True),  # the member id the sandbox gave her
        ("jane-doe", "john-doe", False),
        (MEMBER_ID, f"urn:li:fsd_profile:{MEMBER_ID}", True),
        (MEMBER_ID, MEMBER_ID.lower(), False),  # member ids are case-sensitive
    ],
)
def test_a_person_is_known_by_every_spelling_of_them(first: str, later: str, same: bool) -> None:
    assert recipient(first).is_named_by(later) is same


def test_a_person_first_named_by_member_id_is_found_by_their_made_up_slug() -> None:
    person = recipient(MEMBER_ID)
    assert person.is_named_by(person.vanity_url)


def test_the_two_sides_of_a_conversation_never_share_a_first_name() -> None:
    senders = {account_owner(f"acc-{n}").first_name for n in range(50)}
    recipients = {recipient(f"person-{n}").first_name for n in range(50)}
    assert senders.isdisjoint(recipients)
