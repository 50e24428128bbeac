"""Who a message goes to: a profile URL, a public profile id, or a profile URN.

Providers want different forms (OutX only takes URNs, ConnectSafely takes a public id or a
URN, LinkUp a URL or the URN's id), so a recipient is parsed once and each adapter picks.
`Recipient.value` is the identity "never contact twice" compares, so every way of writing one
profile name (case, percent-encoding, Unicode composition) parses to the same value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

RecipientKind = Literal["profile_url", "public_id", "urn"]

PROFILE_URL_PREFIX = "https://www.linkedin.com/in/"

_PROFILE_URN = re.compile(r"^urn:li:(fsd_profile|person|member):([A-Za-z0-9_-]+)$")
# The id inside a profile URN, as LinkUp shows it on its own ("ACoAAFHoUZ…").
_BARE_MEMBER_ID = re.compile(r"^(ACo|ACw|AEM)[A-Za-z0-9_-]{20,}$")
# www., m. (mobile) or a country (fr., uk.).
_LINKEDIN_HOST = re.compile(r"^(www\.|m\.|[a-z]{2,3}\.)?linkedin\.com$")
# The common case, already canonical but for case: ASCII letters, digits, '-' and '_', starting
# with a letter or a digit, 2 to 100 long. Taken without the general path's work (an import
# parses a million of them); the general path gives the same answer for these.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,99}$")
_PLAIN_URL = re.compile(r"^https?://(?:www\.)?linkedin\.com/in/([A-Za-z0-9][A-Za-z0-9_-]{1,99})/?$")
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# LinkedIn's custom URLs have 3 to 100 characters; the floor stays at 2, where it was, because
# files in use have two-letter names, and refusing a real name protects no one.
_NAME_LENGTH = range(2, 101)

# How each kind is named in a message, and how to write it.
_EXPECTED: dict[RecipientKind, tuple[str, str]] = {
    "profile_url": ("a LinkedIn profile URL", "https://www.linkedin.com/in/NAME"),
    "public_id": ("a LinkedIn public profile id", "NAME, as in https://www.linkedin.com/in/NAME"),
    "urn": (
        "a LinkedIn profile URN",
        "urn:li:fsd_profile:ID, urn:li:person:ID, urn:li:member:ID or a member id (ACoAA…)",
    ),
}


@dataclass(frozen=True)
class Recipient:
    """A parsed recipient; `value` is canonical (profile URL, public id, or full URN)."""

    kind: RecipientKind
    value: str

    @property
    def public_id(self) -> str | None:
        """The profile name of a URL or public id, percent-encoded ("jane-doe", "jos%C3%A9-p")."""
        if self.kind == "public_id":
            return self.value
        if self.kind == "profile_url":
            return self.value.removeprefix(PROFILE_URL_PREFIX)
        return None

    @property
    def profile_url(self) -> str | None:
        slug = self.public_id
        return None if slug is None else f"{PROFILE_URL_PREFIX}{slug}"

    @property
    def urn_type(self) -> str | None:
        """ "fsd_profile", "person" or "member" for a URN; None otherwise."""
        match = _PROFILE_URN.match(self.value) if self.kind == "urn" else None
        return match.group(1) if match else None

    @property
    def member_id(self) -> str | None:
        """The id inside a profile URN ("ACoAAB…"); None for URLs and public ids."""
        match = _PROFILE_URN.match(self.value) if self.kind == "urn" else None
        return match.group(2) if match else None

    def __str__(self) -> str:
        return self.value


def parse_recipient(text: str, expect: RecipientKind | None = None) -> Recipient:
    """Parse a recipient as a user writes it: in any form, or only in the `expect`ed one.

    Raises ValueError saying what is wrong and which forms are accepted.
    """
    candidate = text.strip()
    plain = _PLAIN_URL.match(candidate)
    if plain and expect in (None, "profile_url"):
        return Recipient("profile_url", f"{PROFILE_URL_PREFIX}{plain.group(1).lower()}")
    kind = _kind_of(candidate)
    if expect is not None and kind != expect:
        noun, form = _EXPECTED[expect]
        raise ValueError(f"{text!r} is not {noun}: expected {form}")
    if kind == "urn":
        full = candidate if _PROFILE_URN.match(candidate) else f"urn:li:fsd_profile:{candidate}"
        return Recipient("urn", full)
    if kind == "profile_url":
        return Recipient("profile_url", _canonical_profile_url(text, candidate))
    name, problem = _canonical_name(candidate)
    if problem is None:
        return Recipient("public_id", name)
    if expect == "public_id":
        raise ValueError(f"{text!r} is not {_EXPECTED['public_id'][0]}: {problem}")
    raise ValueError(
        f"{text!r} is not a recipient: use a profile URL (https://www.linkedin.com/in/NAME),"
        " a public profile id (NAME) or a profile URN (urn:li:fsd_profile:ID)"
    )


def _kind_of(candidate: str) -> RecipientKind:
    """The kind `candidate` is written as; whether it is a good one is checked afterwards."""
    if _PROFILE_URN.match(candidate) or _BARE_MEMBER_ID.match(candidate):
        return "urn"
    lowered = candidate.lower()
    if "linkedin.com" in lowered or "://" in lowered or lowered.startswith("www."):
        return "profile_url"
    return "public_id"


def _canonical_profile_url(text: str, candidate: str) -> str:
    plain = _PLAIN_URL.match(candidate)
    if plain:
        return f"{PROFILE_URL_PREFIX}{plain.group(1).lower()}"
    refusal = f"{text!r} is not {_EXPECTED['profile_url'][0]}"
    slug = _profile_slug(candidate)
    if slug is None:
        raise ValueError(f"{refusal}: expected https://www.linkedin.com/in/NAME")
    name, problem = _canonical_name(slug)
    if problem is not None:
        raise ValueError(f"{refusal}: {problem}")
    return f"{PROFILE_URL_PREFIX}{name}"


def _profile_slug(candidate: str) -> str | None:
    """NAME, still encoded, from a LinkedIn profile URL (scheme optional; query, fragment and a
    trailing slash ignored); None for anything else."""
    try:
        url = urlsplit(candidate if "://" in candidate else f"https://{candidate}")
    except ValueError:  # an unclosed "[" in the host, for one
        return None
    # The whole netloc, not `hostname`: a user name or a port has no place in a profile URL.
    if url.scheme not in ("http", "https") or not _LINKEDIN_HOST.match(url.netloc.lower()):
        return None
    match [part for part in url.path.split("/") if part]:
        case ["in", slug]:
            return slug
        case _:
            return None


def _canonical_name(slug: str) -> tuple[str, str | None]:
    """The profile name decoded, NFC, lower-cased and re-encoded; or why it cannot be one.

    LinkedIn treats names case-insensitively and writes non-ASCII ones percent-encoded as
    UTF-8, so all of "J%c3%a9R%C3%B4ME-X", "jérôme-x" and "j%C3%A9r%C3%B4me-x" are one person.
    """
    if _PLAIN_NAME.match(slug):
        return slug.lower(), None
    for run in _PERCENT_RUN.findall(slug):
        try:
            unquote(run, errors="strict")
        except UnicodeDecodeError:
            return "", f"{run} in the profile name is not UTF-8 percent-encoding"
    # NFC again after lower(): lower-casing can leave a sequence NFC would compose.
    decoded = unicodedata.normalize("NFC", unquote(slug, errors="strict"))
    name = unicodedata.normalize("NFC", decoded.lower())
    unused = sorted({c for c in name if not (c in "-_" or _category(c) in ("L", "Nd", "M"))})
    if unused:
        shown = " or ".join(map(repr, unused))
        return (
            "",
            f"outreach takes only letters, digits, '-' and '_' in a profile name, not {shown}",
        )
    if len(name) not in _NAME_LENGTH:
        shortest, longest = _NAME_LENGTH.start, _NAME_LENGTH.stop - 1
        return "", (
            f"outreach takes profile names of {shortest} to {longest} characters, not {len(name)}"
        )
    if _category(name[0]) not in ("L", "Nd"):
        return (
            "",
            f"outreach takes profile names that start with a letter or a digit, not {name[0]!r}",
        )
    return quote(name, safe=""), None


def _category(char: str) -> str:
    """The class a name's rules use: "L" (any letter), "M" (any mark), else the category."""
    category = unicodedata.category(char)
    return category[0] if category[0] in "LM" else category
