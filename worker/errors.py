"""Every error outreach raises on purpose, rooted in one class.

    OutreachError
    ├── ConfigurationError        settings or environment are wrong
    │   ├── AccountsFileError     the accounts file cannot be used (names account and key)
    │   ├── SchemaNotReadyError   the database is not migrated to this version's schema
    │   └── WebhookSecretError    a webhook's signing secret variable is unset or malformed
    ├── UnknownAccountError       a message names an account the file does not define
    ├── InvalidMessageError       a message breaks its provider's rules (lists every problem)
    │   └── UnknownSenderError    …and names an unknown account (an UnknownAccountError too)
    ├── NotFoundError             the campaign (or other record) asked for does not exist
    ├── CampaignFileError         a campaign file has mistakes (lists every key at fault)
    ├── CampaignInputError        a recipients CSV has mistakes (every file, line and column)
    └── WebhookError              a webhook endpoint or event asked for is missing or wrong

Provider answers are not errors: adapters return typed outcomes (see `worker.providers.outcomes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class OutreachError(Exception):
    """Raised for any failure outreach reports to its user; the message says what to fix."""


class NotFoundError(OutreachError):
    """Raised when the delivery, campaign or account asked for does not exist."""


class ConfigurationError(OutreachError):
    """Raised when a setting or an environment variable has a value outreach cannot use."""


class AccountsFileError(ConfigurationError):
    """Raised when the accounts file is missing, malformed, or an account in it is incomplete."""

    def __init__(
        self, path: str, problem: str, *, account: str | None = None, key: str | None = None
    ):
        where = path
        if account is not None:
            where += f": account {account!r}"
        if key is not None:
            where += f", key {key!r}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.account = account
        self.key = key


class SchemaNotReadyError(ConfigurationError):
    """Raised when the database's schema revision is not the one this version of outreach needs."""

    def __init__(self, current: str | None, head: str):
        found = f"is at revision {current}" if current else "has no outreach schema"
        super().__init__(
            f"the database {found}; this version needs revision {head}:"
            " run `outreach db upgrade` first"
        )
        self.current = current
        self.head = head


class UnknownAccountError(OutreachError):
    """Raised when a message names a sender account that the accounts file does not define."""

    def __init__(self, name: str, known: Sequence[str]):
        listed = ", ".join(sorted(known)) or "none"
        super().__init__(f"no account named {name!r} in the accounts file (defined: {listed})")
        self.name = name


@dataclass(frozen=True)
class Problem:
    """One reason a message cannot be sent: the field at fault and what to change."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidMessageError(OutreachError):
    """Raised when a message is refused before it is queued; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


class UnknownSenderError(InvalidMessageError, UnknownAccountError):
    """A message names an account the accounts file does not define, among its problems
    (every one listed, the account's first): either kind of error for whoever catches it."""

    def __init__(self, name: str, problems: Sequence[Problem]):
        # Neither parent's __init__: each would hand the other's arguments up the chain.
        OutreachError.__init__(self, "; ".join(str(p) for p in problems))
        self.problems = tuple(problems)
        self.name = name


class CampaignFileError(OutreachError):
    """Raised when a campaign file has mistakes; each problem names the key at fault."""

    def __init__(self, path: str, problems: Sequence[Problem]):
        super().__init__("\n".join(f"{path}: {p}" for p in problems))
        self.path = path
        self.problems = tuple(problems)


class ImportInProgressError(OutreachError):
    """Raised when a campaign import starts while another one runs (PostgreSQL): the second
    must check against what the first commits, so it is refused rather than run beside it."""

    def __init__(self) -> None:
        super().__init__(
            "another campaign import is running; nothing was written: start this one again"
            " when it has finished"
        )


class CampaignInputError(OutreachError):
    """Raised when a campaign's recipients have mistakes; one line each, with file and line."""

    def __init__(self, lines: Sequence[str], line_numbers: Sequence[int] = ()):
        super().__init__("\n".join(lines))
        self.lines = list(lines)
        self.line_numbers = sorted(set(line_numbers))  # the rows at fault (1 is the header)


class WebhookError(OutreachError):
    """Raised when a webhook endpoint, event or event name asked for is missing or wrong."""


class WebhookSecretError(ConfigurationError):
    """Raised when a webhook's signing-secret variable is unset or holds no `whsec_` secret;
    the message names the variable, never its value."""
