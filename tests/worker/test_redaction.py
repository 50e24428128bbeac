"""No API key or login token reaches a log line, an exception's text, or an outcome's reason."""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import Iterator

import httpx
import pytest
import structlog

from tests.fakes import SECRETS
from worker.accounts import Accounts
from worker.dev.sandbox.control import SandboxClient
from worker.logs import configure_logging, get_logger
from worker.providers.base import SendRequest
from worker.providers.linkup import LinkUp
from worker.providers.outcomes import Rejected
from worker.recipients import parse_recipient
from worker.redaction import MASK, Secret
from worker.settings import Settings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _log_everything_dangerous(accounts: Accounts) -> None:
    token = accounts["alice"].login_token
    assert token is not None
    key, login = accounts["alice"].api_key.reveal(), token.reveal()
    log = get_logger("outreach.test")
    log.info("delivery_sent", note=f"used key {key}", account="alice")
    log.info("account_loaded", api_key="unregistered-but-named-api-key", headers={"x-api-key": key})
    log.info("account_shown", account=accounts["alice"])
    try:
        raise RuntimeError(f"provider refused token {login}")
    except RuntimeError:
        log.exception("send_crashed")
    logging.getLogger("celery.worker").warning("stdlib record with %s", key)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_log_output_never_contains_a_secret(
    accounts: Accounts, restore_logging: None, log_format: str
) -> None:
    stream = io.StringIO()
    configure_logging(log_format, "INFO", stream)

    _log_everything_dangerous(accounts)

    output = stream.getvalue()
    assert "delivery_sent" in output
    assert "send_crashed" in output and "RuntimeError" in output  # the traceback is there
    assert "stdlib record" in output
    for secret in [*SECRETS.values(), "unregistered-but-named-api-key"]:
        assert secret not in output
    assert MASK in output


def test_a_secret_prints_as_a_mask_and_refuses_to_be_pickled() -> None:
    secret = Secret("sk-live-should-not-show")
    assert "sk-live-should-not-show" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "sk-live-should-not-show"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_a_provider_echoing_the_key_does_not_leak_it_into_the_reason(
    http_client: httpx.Client, settings: Settings, accounts: Accounts, sandbox: SandboxClient
) -> None:
    key = SECRETS["TEST_LINKUP_KEY"]
    sandbox.add_fault("status", provider="linkup", status=401, error=f"Invalid API key {key}")
    outcome = LinkUp(http_client, settings.linkup_base_url).send(
        accounts["alice"], SendRequest(parse_recipient("jane-doe"), "Hi")
    )
    assert isinstance(outcome, Rejected)
    assert key not in outcome.reason
    assert MASK in outcome.reason
