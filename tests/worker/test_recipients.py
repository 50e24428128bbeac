"""Recipient parsing: every form a user may write, normalised, and every form refused."""

from __future__ import annotations

import pytest

from worker.recipients import RecipientKind, parse_recipient

MEMBER = "ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e-JhvGqQ"
JEROME = "https://www.linkedin.com/in/j%C3%A9r%C3%B4me-x"


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
        ("m.linkedin.com/in/jane-doe#top", "profile_url", "https://www.linkedin.com/in/jane-doe"),
        ("www.linkedin.com/in/jane_doe", "profile_url", "https://www.linkedin.com/in/jane_doe"),
        ("linkedin.com/in/jos%C3%A9-p", "profile_url", "https://www.linkedin.com/in/jos%C3%A9-p"),
        ("  jane-doe-123 ", "public_id", "jane-doe-123"),
        ("jérôme-x", "public_id", "j%C3%A9r%C3%B4me-x"),
        ("张伟-123", "public_id", "%E5%BC%A0%E4%BC%9F-123"),
        (f"urn:li:fsd_profile:{MEMBER}", "urn", f"urn:li:fsd_profile:{MEMBER}"),
        ("urn:li:person:ACoAABCDEFG", "urn", "urn:li:person:ACoAABCDEFG"),
        (MEMBER, "urn", f"urn:li:fsd_profile:{MEMBER}"),
    ],
)
def test_accepted_forms(text: str, kind: str, value: str) -> None:
    recipient = parse_recipient(text)
    assert (recipient.kind, recipient.value) == (kind, value)


@pytest.mark.parametrize(
    "variants",
    [
        (
            "https://www.linkedin.com/in/Jane-Doe",
            "https://www.linkedin.com/in/jane-doe",
            "HTTPS://WWW.LinkedIn.com/in/JANE-DOE/",
            "fr.linkedin.com/in/jAnE-dOe?trk=people",
        ),
        ("Jane-Doe", "jane-doe", "JANE-DOE"),
        ("Jérôme-X", "jérôme-x", "JÉRÔME-X"),
    ],
    ids=["profile-url", "public-id", "non-ascii-public-id"],
)
def test_case_variants_are_one_recipient(variants: tuple[str, ...]) -> None:
    assert len({parse_recipient(text) for text in variants}) == 1


@pytest.mark.parametrize(
    "text",
    [
        JEROME,
        "https://www.linkedin.com/in/jérôme-x",
        "https://www.linkedin.com/in/J%c3%a9R%C3%B4ME-X",
        "https://www.linkedin.com/in/j%C3%A9rôme-x",  # half encoded, half not
        "https://www.linkedin.com/in/je\u0301ro\u0302me-x",  # decomposed accents (NFD)
        "https://www.linkedin.com/in/je%CC%81ro%CC%82me-x",  # NFD, percent-encoded
    ],
)
def test_encoded_non_ascii_and_mixed_case_hex_are_one_recipient(text: str) -> None:
    assert parse_recipient(text).value == JEROME


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (f"urn:li:fsd_profile:{MEMBER}", f"urn:li:fsd_profile:{MEMBER}"),
        ("urn:li:person:ACoAABcDeFgHiJ", "urn:li:person:ACoAABcDeFgHiJ"),
        ("urn:li:member:AbC123", "urn:li:member:AbC123"),
        (MEMBER, f"urn:li:fsd_profile:{MEMBER}"),
    ],
)
def test_urns_keep_their_case(text: str, value: str) -> None:
    assert parse_recipient(text).value == value


@pytest.mark.parametrize(
    "text",
    [
        "https://www.linkedin.com/in/Jane-Doe/",
        "https://www.linkedin.com/in/J%c3%a9R%C3%B4ME-X",
        "https://www.linkedin.com/in/İpek-x",  # lower() gives i + a combining dot
        "https://www.linkedin.com/in/प्रिया-शर्मा",  # combining vowel signs
        "Jane-Doe",
        "jérôme-x",
        f"urn:li:fsd_profile:{MEMBER}",
        MEMBER,
    ],
)
def test_a_value_parses_back_to_the_same_recipient(text: str) -> None:
    recipient = parse_recipient(text)
    assert parse_recipient(recipient.value) == recipient


@pytest.mark.parametrize(
    "text",
    [
        "",
        "jane doe",
        "https://example.com/in/jane",
        "https://www.linkedin.com/company/acme",
        "https://www.linkedin.com/in/",
        "https://jane@www.linkedin.com/in/jane",
        "https://www.linkedin.com:8443/in/jane",
        "https://[www.linkedin.com/in/jane",
        "urn:li:organization:123",
    ],
)
def test_refused_forms_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"linkedin\.com/in/NAME"):
        parse_recipient(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("https://www.linkedin.com/in/jos%E9", "%E9 in the profile name is not UTF-8"),
        (
            "https://www.linkedin.com/in/jane%20doe",
            "outreach takes only letters, digits, '-' and '_' in a profile name, not ' '",
        ),
        (
            "https://www.linkedin.com/in/jane doe",
            "outreach takes only letters, digits, '-' and '_' in a profile name, not ' '",
        ),
        (
            "https://www.linkedin.com/in/jane%2Fdoe",
            "outreach takes only letters, digits, '-' and '_' in a profile name, not '/'",
        ),
        (
            "https://www.linkedin.com/in/jane.doe",
            "outreach takes only letters, digits, '-' and '_' in a profile name, not '.'",
        ),
        (
            "https://www.linkedin.com/in/jane%25doe",
            "outreach takes only letters, digits, '-' and '_' in a profile name, not '%'",
        ),
        ("https://www.linkedin.com/in/j", "2 to 100 characters, not 1"),
        (f"https://www.linkedin.com/in/{'x' * 101}", "2 to 100 characters, not 101"),
        ("https://www.linkedin.com/in/-jane", "that start with a letter or a digit, not '-'"),
    ],
)
def test_a_profile_name_outreach_does_not_take_is_refused_with_the_reason(
    text: str, reason: str
) -> None:
    with pytest.raises(ValueError, match="is not a LinkedIn profile URL: ") as caught:
        parse_recipient(text)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expect", "value"),
    [
        ("https://www.linkedin.com/in/Jane", "profile_url", "https://www.linkedin.com/in/jane"),
        ("linkedin.com/in/jane", "profile_url", "https://www.linkedin.com/in/jane"),
        ("Jane", "public_id", "jane"),
        ("jérôme-x", "public_id", "j%C3%A9r%C3%B4me-x"),
        ("urn:li:member:123456", "urn", "urn:li:member:123456"),
        (MEMBER, "urn", f"urn:li:fsd_profile:{MEMBER}"),
    ],
)
def test_the_expected_kind_is_accepted(text: str, expect: RecipientKind, value: str) -> None:
    assert parse_recipient(text, expect=expect).value == value


@pytest.mark.parametrize(
    ("text", "expect", "message"),
    [
        (
            "none",
            "profile_url",
            "'none' is not a LinkedIn profile URL: expected https://www.linkedin.com/in/NAME",
        ),
        (
            "jane@example.com",
            "profile_url",
            "'jane@example.com' is not a LinkedIn profile URL:"
            " expected https://www.linkedin.com/in/NAME",
        ),
        (
            MEMBER,
            "profile_url",
            f"'{MEMBER}' is not a LinkedIn profile URL: expected https://www.linkedin.com/in/NAME",
        ),
        (
            "https://www.linkedin.com/in/jane",
            "public_id",
            "'https://www.linkedin.com/in/jane' is not a LinkedIn public profile id:"
            " expected NAME, as in https://www.linkedin.com/in/NAME",
        ),
        (
            MEMBER,
            "public_id",
            f"'{MEMBER}' is not a LinkedIn public profile id:"
            " expected NAME, as in https://www.linkedin.com/in/NAME",
        ),
        (
            "n/a",
            "public_id",
            "'n/a' is not a LinkedIn public profile id: outreach takes only letters, digits,"
            " '-' and '_' in a profile name, not '/'",
        ),
        (
            "jane-doe",
            "urn",
            "'jane-doe' is not a LinkedIn profile URN: expected urn:li:fsd_profile:ID,"
            " urn:li:person:ID, urn:li:member:ID or a member id (ACoAA…)",
        ),
        (
            "urn:li:organization:123",
            "urn",
            "'urn:li:organization:123' is not a LinkedIn profile URN:"
            " expected urn:li:fsd_profile:ID, urn:li:person:ID, urn:li:member:ID"
            " or a member id (ACoAA…)",
        ),
    ],
)
def test_another_kind_than_expected_is_refused_saying_what_is_expected(
    text: str, expect: RecipientKind, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        parse_recipient(text, expect=expect)
    assert str(caught.value) == message


def test_each_form_exposes_what_providers_need() -> None:
    url = parse_recipient("https://www.linkedin.com/in/jane-doe")
    urn = parse_recipient(f"urn:li:fsd_profile:{MEMBER}")
    assert (url.public_id, url.member_id, url.urn_type) == ("jane-doe", None, None)
    assert (urn.public_id, urn.member_id, urn.urn_type) == (None, MEMBER, "fsd_profile")
    assert parse_recipient("jane-doe").profile_url == "https://www.linkedin.com/in/jane-doe"


@pytest.mark.parametrize("text", ["https://www.linkedin.com/in/Jérôme-X", "Jérôme-X"])
def test_the_public_id_and_profile_url_are_canonical_and_encoded(text: str) -> None:
    recipient = parse_recipient(text)
    assert (recipient.public_id, recipient.profile_url) == ("j%C3%A9r%C3%B4me-x", JEROME)


@pytest.mark.parametrize("name", ["Jane-Doe", "ab", "0x-Z_9", "a" * 100, "UPPER"])
def test_the_plain_name_shortcut_agrees_with_the_general_path(name: str) -> None:
    # With a query, or without a scheme, a URL takes the general path; plain, the shortcut.
    shortcut = parse_recipient(f"https://www.linkedin.com/in/{name}/")
    assert shortcut == parse_recipient(f"https://www.linkedin.com/in/{name}?trk=x")
    assert shortcut == parse_recipient(f"www.linkedin.com/in/{name}")
    assert parse_recipient(name).value == name.lower()
    assert shortcut.value == f"https://www.linkedin.com/in/{name.lower()}"
