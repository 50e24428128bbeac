"""Settings come from OUTREACH_* variables with the documented defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from worker.errors import ConfigurationError
from worker.redaction import redact
from worker.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OUTREACH_"):
            monkeypatch.delenv(name)


def test_documented_defaults() -> None:
    settings = load_settings()
    assert settings.redis_url is None
    assert settings.database_url is None
    assert settings.accounts_file == Path("accounts.toml")
    assert (settings.pace_min_seconds, settings.pace_max_seconds) == (30, 60)
    assert settings.linkup_base_url == "https://api.linkupapi.com"
    assert settings.connectsafely_base_url == "https://api.connectsafely.ai"
    assert settings.outx_base_url == "https://api.outx.ai"
    assert settings.outx_poll_seconds == 5


def test_every_public_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "OUTREACH_REDIS_URL": "redis://cache:6379/2",
        "OUTREACH_DATABASE_URL": "postgresql://db/outreach",
        "OUTREACH_ACCOUNTS_FILE": "/etc/outreach/accounts.toml",
        "OUTREACH_PACE_MIN_SECONDS": "0.2",
        "OUTREACH_PACE_MAX_SECONDS": "0.4",
        "OUTREACH_LINKUP_BASE_URL": "http://127.0.0.1:8765/",
        "OUTREACH_CONNECTSAFELY_BASE_URL": "http://127.0.0.1:8765",
        "OUTREACH_OUTX_BASE_URL": "http://127.0.0.1:8765",
        "OUTREACH_OUTX_POLL_SECONDS": "0.5",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.database_url == "postgresql://db/outreach"
    assert settings.accounts_file == Path("/etc/outreach/accounts.toml")
    assert (settings.pace_min_seconds, settings.pace_max_seconds) == (0.2, 0.4)
    assert settings.linkup_base_url == "http://127.0.0.1:8765"  # no trailing slash
    assert settings.outx_poll_seconds == 0.5


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"OUTREACH_PACE_MIN_SECONDS": "90"}, "must not exceed OUTREACH_PACE_MAX_SECONDS"),
        ({"OUTREACH_PACE_MAX_SECONDS": "soon"}, "OUTREACH_PACE_MAX_SECONDS"),
        ({"OUTREACH_OUTX_POLL_SECONDS": "0"}, "OUTREACH_OUTX_POLL_SECONDS"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=says):
        load_settings()


def test_a_password_in_a_service_url_is_treated_as_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_REDIS_URL", "redis://:hunter2-redis-pw@cache:6379/0")
    load_settings()
    assert redact("connecting to redis://:hunter2-redis-pw@cache") == (
        "connecting to redis://:[REDACTED]@cache"
    )
