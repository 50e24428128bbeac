"""Who a message goes to: a profile URL, a public profile id, or a profile URN.

Providers want different forms (OutX only takes URNs, ConnectSafely takes a public id or a
URN, LinkUp a URL or the URN's id), so a recipient is parsed once and each adapter picks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

RecipientKind = Literal["profile_url", "public_id", "urn"]

_PROFILE_URN = re.compile(r"^urn:li:(fsd_profile|person|member):([A-Za-z0-9_-]+)$")
# The id inside a profile URN, as LinkUp shows it on its own ("ACoAAFHoUZ…").
_BARE_MEMBER_ID = re.compile(r"^(ACo|ACw|AEM)[A-Za-z0-9_-]{20,}$")
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_%\-]{1,99}$")
_LINKEDIN_HOST = re.compile(r"^([a-z]{2,3}\.|www\.)?linkedin\.com$")


@dataclass(frozen=True)
class Recipient:
    """A parsed recipient; `value` is normalised (canonical URL, bare slug, or full URN)."""

    kind: RecipientKind
    value: str

    @property
    def public_id(self) -> str | None:
        """The profile slug, for a URL or public id ("jane-doe")."""
        if self.kind == "public_id":
            return self.value
        if self.kind == "profile_url":
            return self.value.rsplit("/", 1)[-1]
        return None

    @property
    def profile_url(self) -> str | None:
        slug = self.public_id
        return None if slug is None else f"https://www.linkedin.com/in/{slug}"

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


def parse_recipient(text: str) -> Recipient:
    """Parse a recipient as a user writes it; raises ValueError saying which forms are accepted."""
    candidate = text.strip()
    if _PROFILE_URN.match(candidate):
        return Recipient("urn", candidate)
    if _BARE_MEMBER_ID.match(candidate):
        return Recipient("urn", f"urn:li:fsd_profile:{candidate}")
    if "linkedin.com" in candidate.lower() or candidate.startswith(("http://", "https://")):
        return Recipient("profile_url", _canonical_profile_url(candidate))
    if _PUBLIC_ID.match(candidate):
        return Recipient("public_id", candidate)
    raise ValueError(
        f"{text!r} is not a recipient: use a profile URL (https://www.linkedin.com/in/NAME),"
        " a public profile id (NAME) or a profile URN (urn:li:fsd_profile:ID)"
    )


def _canonical_profile_url(text: str) -> str:
    url = urlsplit(text if "://" in text else f"https://{text}")
    parts = [p for p in url.path.split("/") if p]
    host_ok = url.scheme in ("http", "https") and _LINKEDIN_HOST.match(url.hostname or "")
    if not host_ok or len(parts) != 2 or parts[0] != "in" or not _PUBLIC_ID.match(parts[1]):
        raise ValueError(
            f"{text!r} is not a LinkedIn profile URL: expected https://www.linkedin.com/in/NAME"
        )
    return f"https://www.linkedin.com/in/{parts[1]}"
