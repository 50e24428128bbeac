"""Recipient parsing: every form a user may write, normalised, and every form refused."""

from __future__ import annotations

import pytest

from worker.recipients import parse_recipient

MEMBER = "ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e-JhvGqQ"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (
            "https://www.linkedin.com/in/jane-doe",
            "profile_url",
            "https://www.linkedin.com/in/jane-doe",
        ),
        (
            "https://www.linkedin.com/in/jane-doe/",
            "profile_url",
            "https://www.linkedin.com/in/jane-doe",
        ),
        (
            "http://linkedin.com/in/jane-doe?utm=x",
            "profile_url",
            "https://www.linkedin.com/in/jane-doe",
        ),
        (
            "https://uk.linkedin.com/in/jane-doe",
            "profile_url",
            "https://www.linkedin.com/in/jane-doe",
        ),
        ("linkedin.com/in/jos%C3%A9-p", "profile_url", "https://www.linkedin.com/in/jos%C3%A9-p"),
        ("  jane-doe-123 ", "public_id", "jane-doe-123"),
        (f"urn:li:fsd_profile:{MEMBER}", "urn", f"urn:li:fsd_profile:{MEMBER}"),
        ("urn:li:person:ACoAABCDEFG", "urn", "urn:li:person:ACoAABCDEFG"),
        (MEMBER, "urn", f"urn:li:fsd_profile:{MEMBER}"),
    ],
)
def test_accepted_forms(text: str, kind: str, value: str) -> None:
    recipient = parse_recipient(text)
    assert (recipient.kind, recipient.value) == (kind, value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "jane doe",
        "https://example.com/in/jane",
        "https://www.linkedin.com/company/acme",
        "https://www.linkedin.com/in/",
        "urn:li:organization:123",
    ],
)
def test_refused_forms_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"linkedin\.com/in/NAME"):
        parse_recipient(text)


def test_each_form_exposes_what_providers_need() -> None:
    url = parse_recipient("https://www.linkedin.com/in/jane-doe")
    urn = parse_recipient(f"urn:li:fsd_profile:{MEMBER}")
    assert (url.public_id, url.member_id, url.urn_type) == ("jane-doe", None, None)
    assert (urn.public_id, urn.member_id, urn.urn_type) == (None, MEMBER, "fsd_profile")
    assert parse_recipient("jane-doe").profile_url == "https://www.linkedin.com/in/jane-doe"
