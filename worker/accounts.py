"""Sender accounts, read from a TOML file with secrets given by reference.

[accounts.alice]
provider = "linkup"
api_key = "env:LINKUP_API_KEY"      # or "file:/run/secrets/linkup_api_key"
login_token = "env:ALICE_LOGIN_TOKEN"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.errors import AccountsFileError, UnknownAccountError
from worker.redaction import Secret

ProviderName = Literal["linkup", "connectsafely", "outx"]
PROVIDERS: tuple[ProviderName, ...] = get_args(ProviderName)

# LinkUp's documented proxy countries; FR is its default.
LINKUP_COUNTRIES = frozenset({"US", "UK", "FR", "DE", "NL", "IT", "IL", "CA", "BR", "ES", "IN"})

_COMMON_KEYS = frozenset(
    {"provider", "api_key", "pace_min_seconds", "pace_max_seconds", "timezone", "daily_limit"}
)
_PROVIDER_KEYS: dict[ProviderName, frozenset[str]] = {
    "linkup": _COMMON_KEYS | {"login_token", "country"},
    "connectsafely": _COMMON_KEYS | {"account_id"},
    "outx": _COMMON_KEYS,
}
_SECRET_KEYS = ("api_key", "login_token")

_Fail = Callable[..., AccountsFileError]


@dataclass(frozen=True)
class Account:
    """One sender: which provider sends for it and the credentials that provider needs."""

    name: str
    provider: ProviderName
    api_key: Secret
    login_token: Secret | None = None  # LinkUp: the LinkedIn session cookie
    country: str | None = None  # LinkUp: proxy country
    account_id: str | None = None  # ConnectSafely: which connected LinkedIn account
    pace_min_seconds: float | None = None  # per-account override of the pacing window
    pace_max_seconds: float | None = None
    timezone: str = "UTC"  # where its send windows and "today" are reckoned
    daily_limit: int | None = None  # sends a day across all campaigns; None: the default


class Accounts(Mapping[str, Account]):
    """The accounts file's accounts by name."""

    def __init__(self, accounts: Mapping[str, Account]):
        self._accounts = dict(accounts)

    def __getitem__(self, name: str) -> Account:
        try:
            return self._accounts[name]
        except KeyError:
            raise UnknownAccountError(name, list(self._accounts)) from None

    def find(self, name: str) -> Account | None:
        return self._accounts.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._accounts)

    def __len__(self) -> int:
        return len(self._accounts)


def load_accounts(path: Path, environ: Mapping[str, str] | None = None) -> Accounts:
    """Read and check every account in `path`; the first problem raises AccountsFileError."""
    env = os.environ if environ is None else environ
    where = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccountsFileError(
            where, "file not found (set OUTREACH_ACCOUNTS_FILE to point at your accounts file)"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AccountsFileError(where, f"not valid TOML: {exc}") from exc
    return parse_accounts(document, env, where=where)


def parse_accounts(
    document: Mapping[str, Any], environ: Mapping[str, str], *, where: str = "<accounts>"
) -> Accounts:
    """Build accounts from an already-parsed document (the demo and tests use this)."""
    tables = document.get("accounts")
    if not isinstance(tables, dict) or not tables:
        raise AccountsFileError(where, "no [accounts.NAME] tables found")
    accounts = {name: _parse_account(where, name, t, environ) for name, t in tables.items()}
    _refuse_shared_senders(where, list(accounts.values()))
    return Accounts(accounts)


def _refuse_shared_senders(where: str, accounts: list[Account]) -> None:
    """Two entries that are one LinkedIn person would each get their own pacing and daily cap,
    doubling that person's rate: refuse the file, naming both."""
    groups: dict[tuple[str, Secret | None], list[Account]] = {}
    for account in accounts:
        credential = account.login_token if account.provider == "linkup" else account.api_key
        groups.setdefault((account.provider, credential), []).append(account)
    for group in groups.values():
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if _one_sender(first, second):
                    raise AccountsFileError(
                        where,
                        f"accounts {first.name!r} and {second.name!r} are one LinkedIn sender"
                        f" ({_SAME_SENDER[first.provider]}); each entry would get its own pacing"
                        " and daily cap, doubling that person's rate. Keep one entry for that"
                        " person",
                    )


def _one_sender(first: Account, second: Account) -> bool:
    """Whether two entries with the same credential may be the same LinkedIn person."""
    if first.provider != "connectsafely":
        return True  # LinkUp: the login token is the person; OutX: the key's team's admin
    # Without an accountId ConnectSafely uses the key's default account, which may be either.
    ids = (first.account_id, second.account_id)
    return None in ids or ids[0] == ids[1]


_SAME_SENDER: dict[ProviderName, str] = {
    "linkup": "the same LinkUp login token",
    "outx": "the same OutX API key, and OutX always sends from the team's oldest admin",
    "connectsafely": (
        "the same ConnectSafely API key with the same or no account_id; give each its own"
        " account_id if they are different LinkedIn accounts"
    ),
}


def _parse_account(where: str, name: str, table: object, env: Mapping[str, str]) -> Account:
    def fail(problem: str, key: str | None = None) -> AccountsFileError:
        return AccountsFileError(where, problem, account=name, key=key)

    if not isinstance(table, dict):
        raise fail("must be a table: [accounts.NAME]")
    provider = table.get("provider")
    if provider not in PROVIDERS:
        raise fail(f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}", "provider")
    allowed = _PROVIDER_KEYS[provider]
    for key in table:
        if key not in allowed:
            raise fail(
                f"not a setting for a {provider} account (allowed: {', '.join(sorted(allowed))})",
                key,
            )

    secrets = {
        key: _resolve_secret(table, key, env, fail) for key in _SECRET_KEYS if key in allowed
    }
    if secrets["api_key"] is None:
        raise fail("missing; every account needs an API key", "api_key")
    if provider == "linkup" and secrets["login_token"] is None:
        raise fail("missing; LinkUp sends with the account's LinkedIn login token", "login_token")

    country = _optional_str(table, "country", fail)
    if country is not None and country not in LINKUP_COUNTRIES:
        raise fail(
            f"{country!r} is not a LinkUp country ({', '.join(sorted(LINKUP_COUNTRIES))})",
            "country",
        )
    pace_min = _optional_seconds(table, "pace_min_seconds", fail)
    pace_max = _optional_seconds(table, "pace_max_seconds", fail)
    if pace_min is not None and pace_max is not None and pace_min > pace_max:
        raise fail("must not exceed pace_max_seconds", "pace_min_seconds")

    timezone = _optional_str(table, "timezone", fail) or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(
            f"unknown time zone {timezone!r}; use a name like Europe/Paris", "timezone"
        ) from None
    daily_limit = table.get("daily_limit")
    if daily_limit is not None and (
        isinstance(daily_limit, bool) or not isinstance(daily_limit, int) or daily_limit < 1
    ):
        raise fail("must be a whole number of sends a day, 1 or more", "daily_limit")

    return Account(
        name=name,
        provider=provider,
        api_key=secrets["api_key"],
        login_token=secrets.get("login_token"),
        country=country,
        account_id=_optional_str(table, "account_id", fail),
        pace_min_seconds=pace_min,
        pace_max_seconds=pace_max,
        timezone=timezone,
        daily_limit=daily_limit,
    )


def _resolve_secret(
    table: dict[str, object], key: str, env: Mapping[str, str], fail: _Fail
) -> Secret | None:
    reference = table.get(key)
    if reference is None:
        return None
    # The literal value is never echoed back: it may be the secret itself.
    if not isinstance(reference, str):
        raise fail('must be a string reference: "env:NAME" or "file:PATH"', key)
    scheme, _, target = reference.partition(":")
    if scheme == "env" and target:
        value = env.get(target)
        if not value:
            raise fail(f"environment variable {target} is not set", key)
    elif scheme == "file" and target:
        try:
            value = Path(target).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise fail(f"cannot read secret file {target}: {exc.strerror}", key) from None
        if not value:
            raise fail(f"secret file {target} is empty", key)
    else:
        raise fail('must be a reference, "env:NAME" or "file:PATH", never the secret itself', key)
    return Secret(value)


def _optional_str(table: dict[str, object], key: str, fail: _Fail) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise fail("must be a non-empty string", key)
    return value


def _optional_seconds(table: dict[str, object], key: str, fail: _Fail) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise fail("must be a number of seconds, 0 or more", key)
    return float(value)
