"""The accounts file: good accounts load, every mistake names the account and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.accounts import load_accounts
from worker.errors import AccountsFileError, UnknownAccountError

ENV = {"KEY": "key-0123456789", "TOKEN": "token-0123456789"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[accounts.alice]
provider = "linkup"
api_key = "env:KEY"
login_token = "env:TOKEN"
country = "US"
[accounts.bob]
provider = "connectsafely"
api_key = "env:KEY"
account_id = "65a1f0c2e4b0a1b2c3d4e5f6"
[accounts.carol]
provider = "outx"
api_key = "env:KEY"
pace_min_seconds = 45
pace_max_seconds = 90
""",
    )
    accounts = load_accounts(path, ENV)

    assert list(accounts) == ["alice", "bob", "carol"]
    assert accounts["alice"].login_token is not None
    assert accounts["alice"].login_token.reveal() == "token-0123456789"
    assert accounts["bob"].account_id == "65a1f0c2e4b0a1b2c3d4e5f6"
    assert (accounts["carol"].pace_min_seconds, accounts["carol"].pace_max_seconds) == (45, 90)


def test_a_secret_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "outx_key"
    secret.write_text("key-from-a-file-42\n", encoding="utf-8")
    path = _write(tmp_path, f'[accounts.carol]\nprovider = "outx"\napi_key = "file:{secret}"\n')
    assert load_accounts(path, {})["carol"].api_key.reveal() == "key-from-a-file-42"


@pytest.mark.parametrize(
    ("table", "account", "key", "says"),
    [
        ('provider = "linkedin"\napi_key = "env:KEY"', "x", "provider", "unknown provider"),
        ('api_key = "env:KEY"', "x", "provider", "unknown provider"),
        ('provider = "outx"', "x", "api_key", "missing"),
        ('provider = "outx"\napi_key = "env:NOPE"', "x", "api_key", "NOPE is not set"),
        ('provider = "linkup"\napi_key = "env:KEY"', "x", "login_token", "login token"),
        (
            'provider = "linkup"\napi_key = "env:KEY"\nlogin_token = "env:TOKEN"\ncountry = "PT"',
            "x",
            "country",
            "not a LinkUp country",
        ),
        (
            'provider = "outx"\napi_key = "env:KEY"\nlogin_token = "env:TOKEN"',
            "x",
            "login_token",
            "not a setting for a outx account",
        ),
        (
            'provider = "outx"\napi_key = "file:/nonexistent/key"',
            "x",
            "api_key",
            "cannot read secret file",
        ),
        (
            'provider = "outx"\napi_key = "env:KEY"\npace_min_seconds = -1',
            "x",
            "pace_min_seconds",
            "seconds",
        ),
        (
            'provider = "outx"\napi_key = "env:KEY"\npace_min_seconds = 9\npace_max_seconds = 3',
            "x",
            "pace_min_seconds",
            "must not exceed",
        ),
    ],
)
def test_mistakes_name_the_account_and_key(
    tmp_path: Path, table: str, account: str, key: str, says: str
) -> None:
    path = _write(tmp_path, f"[accounts.{account}]\n{table}\n")
    with pytest.raises(AccountsFileError, match=says) as caught:
        load_accounts(path, ENV)
    assert (caught.value.account, caught.value.key) == (account, key)
    assert f"account '{account}'" in str(caught.value)
    assert f"key '{key}'" in str(caught.value)


def test_a_literal_secret_is_refused_and_never_echoed(tmp_path: Path) -> None:
    path = _write(tmp_path, '[accounts.x]\nprovider = "outx"\napi_key = "ox-live-abcdef123456"\n')
    with pytest.raises(AccountsFileError, match="env:NAME") as caught:
        load_accounts(path, ENV)
    assert "ox-live-abcdef123456" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "no \\[accounts.NAME\\] tables"), ("[accounts\n", "not valid TOML")],
)
def test_a_malformed_file_is_explained(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(AccountsFileError, match=says):
        load_accounts(_write(tmp_path, text), ENV)


def test_a_missing_file_says_which_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(AccountsFileError, match="OUTREACH_ACCOUNTS_FILE"):
        load_accounts(tmp_path / "nope.toml", ENV)


def test_an_unknown_account_lists_the_defined_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, '[accounts.carol]\nprovider = "outx"\napi_key = "env:KEY"\n')
    with pytest.raises(UnknownAccountError, match="defined: carol"):
        load_accounts(path, ENV)["dave"]


SENDER_ENV = {**ENV, "KEY2": "key-9876543210", "TOKEN2": "token-9876543210"}


def _pair(provider: str, first: str, second: str) -> str:
    return f'[accounts.one]\nprovider = "{provider}"\n{first}\n\n' + (
        f'[accounts.two]\nprovider = "{provider}"\n{second}\n'
    )


@pytest.mark.parametrize(
    ("provider", "first", "second", "why"),
    [
        (
            "linkup",
            'api_key = "env:KEY"\nlogin_token = "env:TOKEN"',
            'api_key = "env:KEY2"\nlogin_token = "env:TOKEN"',
            "the same LinkUp login token",
        ),
        ("outx", 'api_key = "env:KEY"', 'api_key = "env:KEY"', "oldest admin"),
        ("connectsafely", 'api_key = "env:KEY"', 'api_key = "env:KEY"', "same or no account_id"),
        (
            "connectsafely",
            'api_key = "env:KEY"\naccount_id = "a1"',
            'api_key = "env:KEY"\naccount_id = "a1"',
            "same or no account_id",
        ),
        (
            "connectsafely",
            'api_key = "env:KEY"\naccount_id = "a1"',
            'api_key = "env:KEY"',
            "give each its own account_id",
        ),
    ],
)
def test_two_entries_that_are_one_linkedin_sender_are_refused_naming_both(
    tmp_path: Path, provider: str, first: str, second: str, why: str
) -> None:
    path = _write(tmp_path, _pair(provider, first, second))
    with pytest.raises(AccountsFileError) as caught:
        load_accounts(path, SENDER_ENV)
    message = str(caught.value)
    assert "accounts 'one' and 'two' are one LinkedIn sender" in message
    assert why in message
    assert not any(secret in message for secret in SENDER_ENV.values())


@pytest.mark.parametrize(
    ("provider", "first", "second"),
    [
        (
            "linkup",
            'api_key = "env:KEY"\nlogin_token = "env:TOKEN"',
            'api_key = "env:KEY"\nlogin_token = "env:TOKEN2"',
        ),
        ("outx", 'api_key = "env:KEY"', 'api_key = "env:KEY2"'),
        (
            "connectsafely",
            'api_key = "env:KEY"\naccount_id = "a1"',
            'api_key = "env:KEY"\naccount_id = "a2"',
        ),
        ("connectsafely", 'api_key = "env:KEY"', 'api_key = "env:KEY2"'),
    ],
)
def test_entries_that_are_different_senders_load(
    tmp_path: Path, provider: str, first: str, second: str
) -> None:
    path = _write(tmp_path, _pair(provider, first, second))
    assert list(load_accounts(path, SENDER_ENV)) == ["one", "two"]
