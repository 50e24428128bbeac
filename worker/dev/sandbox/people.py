"""Who is who in the sandbox's made-up LinkedIn: one person however a request spells them
(profile URL, public id, member id, profile URN), and stable names, headlines and pictures.

Every person has a member id (`ACoAA…`) and a public id (the vanity slug). A person first named
by slug gets the member id `fake_member_id(slug)`; one first named by member id gets a made-up
slug. Senders (the accounts) and recipients draw first names from separate lists, so the two
sides of a conversation never share a name.

Everyone exists: a profile that is not there is a fault rule (`outx_task` narrowed to a
`profile_slug`), not a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from worker.dev.sandbox.ids import fake_id, fake_member_id

_PROFILE_URL = re.compile(r"^https?://[^/]*linkedin\.com/in/([^/?#\s]+)", re.IGNORECASE)
_PROFILE_URN = re.compile(r"^urn:li:(?:fsd_profile|person|member):(\S+)$")
# Real member ids start "ACoAA"; a slug such as "acme-corp" must not pass for one.
_MEMBER_ID = re.compile(r"^ACoA[A-Za-z0-9_-]{10,}$")

_SENDER_FIRST_NAMES = (
    "Titouan", "Camille", "Hugo", "Léa", "Mathis", "Chloé", "Nathan", "Inès", "Louis", "Manon",
)  # fmt: skip
_RECIPIENT_FIRST_NAMES = (
    "Alés", "Priya", "Jonas", "Maren", "Tomasz", "Aiko", "Rafael", "Nadia", "Owen", "Sofia",
)  # fmt: skip
_LAST_NAMES = (
    "Prioux", "Bell", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Reyes",
    "Fischer", "Kowalski", "Dubois",
)  # fmt: skip
_CITIES = ("Lyon, France", "Berlin, Germany", "Austin, Texas", "Osaka, Japan", "Porto, Portugal")
_ROLES = ("Head of Sales", "Founder", "Engineering Manager", "Recruiter", "Product Lead")
_COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries")


@dataclass(frozen=True)
class Person:
    member_id: str
    slug: str  # the public id, percent-decoded and lower-case
    first_name: str
    last_name: str
    headline: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def urn(self) -> str:
        return f"urn:li:fsd_profile:{self.member_id}"

    @property
    def vanity_url(self) -> str:
        return f"https://www.linkedin.com/in/{quote(self.slug)}"

    @property
    def member_url(self) -> str:
        """The URN-style profile URL (`/in/ACoAA…`), as LinkUp's inbox example shows senders."""
        return f"https://www.linkedin.com/in/{self.member_id}"

    @property
    def picture(self) -> str:
        return f"https://media.licdn.com/dms/image/sandbox/{self.member_id}/profile.jpg"

    def is_named_by(self, spelling: str) -> bool:
        member_id, slug = parse_spelling(spelling)
        if member_id is not None:
            return member_id == self.member_id
        return slug is not None and (slug == self.slug or fake_member_id(slug) == self.member_id)


def parse_spelling(spelling: str) -> tuple[str | None, str | None]:
    """(member id, None) or (None, slug) for a way of naming a person; (None, None) for none."""
    text = spelling.strip()
    urn = _PROFILE_URN.match(text)
    if urn:
        return urn.group(1), None
    url = _PROFILE_URL.match(text)
    if url:
        text = url.group(1)
    text = unquote(text).strip("/")
    if _MEMBER_ID.match(text):
        return text, None  # member ids are case-sensitive: no lower-casing
    return (None, text.lower()) if text else (None, None)


def recipient(spelling: str) -> Person:
    """The person a send names, however it spells them."""
    member_id, slug = parse_spelling(spelling)
    if member_id is None:
        slug = slug or "unknown"
        return _person(fake_member_id(slug), slug, _RECIPIENT_FIRST_NAMES)
    return _person(member_id, None, _RECIPIENT_FIRST_NAMES)


def profile(person: Person) -> dict[str, Any]:
    """`person`'s profile as OutX's Fetch Profile gives it (`task_output`): the fields its page
    lists, and `profile_urn`, which its send-connection-request page calls "a
    urn:li:fsd_profile:... string"."""
    seed = int(fake_id(person.member_id), 16)
    return {
        "name": person.name,
        "headline": person.headline,
        "location": _CITIES[seed // 17 % len(_CITIES)],
        "profile_url": person.vanity_url,
        "connections": 50 + seed % 450,
        "followers": 60 + seed % 900,
        "profile_urn": person.urn,
    }


def account_owner(sender: str) -> Person:
    """The LinkedIn member behind a sandbox sender (a token fingerprint or an account id)."""
    return _person(fake_member_id(sender), None, _SENDER_FIRST_NAMES)


def _person(member_id: str, slug: str | None, first_names: tuple[str, ...]) -> Person:
    # Every trait comes from the member id, so two spellings of one person look the same.
    seed = int(fake_id(member_id), 16)
    first = first_names[seed % len(first_names)]
    last = _LAST_NAMES[seed // 7 % len(_LAST_NAMES)]
    headline = f"{_ROLES[seed // 11 % len(_ROLES)]} at {_COMPANIES[seed // 13 % len(_COMPANIES)]}"
    if slug is None:
        slug = f"{first}-{last}-{fake_id(member_id)[:6]}".lower()
    return Person(member_id, slug, first, last, headline)
