"""Made-up credentials and accounts for tests: long and distinctive, so a leak is easy to
grep for."""

from __future__ import annotations

from datetime import UTC, datetime

# The tests' idea of now, wherever time is controlled.
FIXED_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

SECRETS = {
    "TEST_LINKUP_KEY": "lk-test-7f3a9c1e5b2d4f60",
    "TEST_ALICE_TOKEN": "AQEDAT-alice-login-token-91c2e7",
    "TEST_CONNECTSAFELY_KEY": "cs-test-0b8e2d47a6c9f135",
    "TEST_OUTX_KEY": "ox-test-5d1f9a3c7e2b4806",
}
ACCOUNTS_DOCUMENT = {
    "accounts": {
        "alice": {
            "provider": "linkup",
            "api_key": "env:TEST_LINKUP_KEY",
            "login_token": "env:TEST_ALICE_TOKEN",
            "country": "US",
        },
        "bob": {
            "provider": "connectsafely",
            "api_key": "env:TEST_CONNECTSAFELY_KEY",
            "account_id": "65a1f0c2e4b0a1b2c3d4e5f6",
        },
        "carol": {"provider": "outx", "api_key": "env:TEST_OUTX_KEY"},
    }
}


def accounts_toml(
    names: dict[str, str], extra: dict[str, dict[str, str | int]] | None = None
) -> str:
    """An accounts file: `names` maps account name to provider, `extra` adds settings per
    account; every key is made up."""
    lines = []
    for name, provider in names.items():
        lines += [f"[accounts.{name}]", f'provider = "{provider}"']
        for key, value in (extra or {}).get(name, {}).items():
            lines.append(f"{key} = {value!r}" if isinstance(value, int) else f'{key} = "{value}"')
        if provider == "linkup":
            lines += [
                'api_key = "env:TEST_LINKUP_KEY"',
                f'login_token = "env:TOKEN_{name.upper()}"',
            ]
        elif provider == "connectsafely":
            lines += ['api_key = "env:TEST_CONNECTSAFELY_KEY"', f'account_id = "acct-{name}"']
        else:
            lines += [f'api_key = "env:OUTX_KEY_{name.upper()}"']
    return "\n".join(lines) + "\n"


def account_secrets(names: dict[str, str]) -> dict[str, str]:
    secrets = dict(SECRETS)
    for name in names:
        secrets[f"TOKEN_{name.upper()}"] = f"token-for-{name}-000000"
        secrets[f"OUTX_KEY_{name.upper()}"] = f"outx-key-for-{name}-000"
    return secrets
