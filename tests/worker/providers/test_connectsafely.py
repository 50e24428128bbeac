"""ConnectSafely adapter against the sandbox: endpoint choice, request shape, every outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes import FIXED_NOW
from tests.worker.providers.expect import assert_outcome
from worker.accounts import Accounts
from worker.dev.sandbox.control import SandboxClient
from worker.providers.base import MediaFile, SendRequest
from worker.providers.connectsafely import ConnectSafely
from worker.providers.outcomes import RateLimited, Rejected, Sent, Transient, Unknown
from worker.recipients import parse_recipient
from worker.settings import Settings

SAM = parse_recipient("https://www.linkedin.com/in/sam-smith")
LEE = parse_recipient("urn:li:fsd_profile:ACoAABcdefghijklmnopqrstuv")
CONVERSATION = "urn:li:msg_conversation:(urn:li:fsd_profile:ACoAAme,2-abc)"


@pytest.fixture
def connectsafely(http_client: httpx.Client, settings: Settings) -> ConnectSafely:
    return ConnectSafely(http_client, settings.connectsafely_base_url, clock=lambda: FIXED_NOW)


def test_an_ordinary_message_goes_through_conversations_send(
    connectsafely: ConnectSafely, accounts: Accounts, sandbox: SandboxClient
) -> None:
    outcome = connectsafely.send(accounts["bob"], SendRequest(SAM, "Hi Sam"))

    assert isinstance(outcome, Sent)
    assert outcome.recipient_urn and outcome.recipient_urn.startswith("urn:li:fsd_profile:")
    [message] = sandbox.messages()
    assert message["path"] == "/linkedin/conversations/send"
    assert message["recipient"] == "sam-smith"  # the public id, from the URL
    assert message["sender"] == "65a1f0c2e4b0a1b2c3d4e5f6"  # accountId was sent


def test_a_urn_is_preferred_and_a_reply_names_its_conversation(
    connectsafely: ConnectSafely, accounts: Accounts, sandbox: SandboxClient
) -> None:
    request = SendRequest(LEE, "Following up", conversation_urn=CONVERSATION)
    outcome = connectsafely.send(accounts["bob"], request)

    assert isinstance(outcome, Sent)
    assert outcome.conversation_urn == CONVERSATION
    [message] = sandbox.messages()
    assert message["recipient"] == LEE.value
    assert message["conversation_urn"] == CONVERSATION


def test_an_inmail_goes_through_messaging_send_with_its_subject(
    connectsafely: ConnectSafely, accounts: Accounts, sandbox: SandboxClient
) -> None:
    request = SendRequest(LEE, "An opportunity", subject="Hello", inmail=True)
    assert isinstance(connectsafely.send(accounts["bob"], request), Sent)
    [message] = sandbox.messages()
    assert message["path"] == "/linkedin/messaging/send"
    assert (message["message_type"], message["subject"]) == ("inmail", "Hello")


def test_a_sales_navigator_thread_id_is_kept(
    connectsafely: ConnectSafely, accounts: Accounts, sandbox: SandboxClient
) -> None:
    body = {
        "success": True,
        "message": "Hi",
        "recipientProfileUrn": LEE.value,
        "sentMessage": {},
        "threadId": "12345",
    }
    sandbox.add_fault("respond", provider="connectsafely", status=200, body=body, deliver=True)
    outcome = connectsafely.send(accounts["bob"], SendRequest(LEE, "Hi"))
    assert isinstance(outcome, Sent)
    assert outcome.thread_id == "12345"


HOLD = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fault", "expected", "extra"),
    [
        pytest.param(
            {
                "kind": "respond",
                "status": 429,
                "body": {"error": "Rate limit exceeded", "holdUntil": HOLD.isoformat()},
                "headers": {
                    "X-RateLimit-Reset": str(int((HOLD - timedelta(minutes=5)).timestamp()))
                },
            },
            RateLimited,
            {"retry_at": HOLD},
            id="429-hold-until-wins-when-later",
        ),
        pytest.param(
            {
                "kind": "respond",
                "status": 429,
                "body": {"error": "Rate limit exceeded"},
                "headers": {"X-RateLimit-Reset": str(int(HOLD.timestamp()))},
            },
            RateLimited,
            {"retry_at": HOLD},
            id="429-rate-limit-reset-header",
        ),
        pytest.param(
            {"kind": "rate_limit"}, RateLimited, {"retry_at": None}, id="429-without-hints"
        ),
        pytest.param(
            {"kind": "status", "status": 400, "error": "Daily rate limit reached for account"},
            RateLimited,
            {"http_status": 400},
            id="400-send-failed-on-a-rate-limit",
        ),
        pytest.param(
            {"kind": "status", "status": 400, "error": "Recipient is not a connection"},
            Rejected,
            {
                "account_level": False,
                "recognised": False,
                "reason": "Recipient is not a connection",
            },
            id="400-bad-request-or-send-failed-is-not-recognised",
        ),
        pytest.param(
            {"kind": "unknown_error"},
            Rejected,
            {"account_level": False, "recognised": False, "http_status": 400},
            id="unknown-wording",
        ),
        pytest.param(
            {"kind": "respond", "status": 200, "body": {"success": False, "error": "send failed"}},
            Unknown,
            {"http_status": 200},
            id="200-success-false-is-undocumented",
        ),
        pytest.param(
            {"kind": "status", "status": 401, "error": "Unauthorized"},
            Rejected,
            {"account_level": True},
            id="401-unauthorized",
        ),
        pytest.param(
            {"kind": "status", "status": 404, "error": "Account not found"},
            Rejected,
            {"account_level": True},
            id="404-account-not-found",
        ),
        pytest.param({"kind": "status", "status": 500}, Unknown, {}, id="500-may-have-sent"),
        pytest.param({"kind": "status", "status": 502}, Unknown, {}, id="502-may-have-sent"),
        pytest.param({"kind": "gateway_html"}, Unknown, {}, id="delivered-then-504-html"),
        pytest.param({"kind": "unreadable_success"}, Unknown, {}, id="200-not-json"),
        pytest.param({"kind": "slow", "delay_s": 1.5}, Unknown, {}, id="read-timeout"),
        pytest.param({"kind": "drop"}, Unknown, {}, id="connection-dropped"),
    ],
)
def test_outcome_classification(
    connectsafely: ConnectSafely,
    accounts: Accounts,
    sandbox: SandboxClient,
    fault: dict[str, Any],
    expected: type,
    extra: dict[str, Any],
) -> None:
    sandbox.add_fault(provider="connectsafely", **fault)

    outcome = connectsafely.send(accounts["bob"], SendRequest(SAM, "Hi Sam"))

    assert_outcome(outcome, expected, extra)


def test_the_sandbox_rate_limit_carries_hold_until_and_reset_headers(
    connectsafely: ConnectSafely, accounts: Accounts, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("rate_limit", provider="connectsafely", retry_after_s=600)
    outcome = connectsafely.send(accounts["bob"], SendRequest(SAM, "Hi"))
    assert isinstance(outcome, RateLimited)
    assert outcome.retry_at is not None
    assert outcome.retry_at > datetime.now(UTC) + timedelta(seconds=590)


def test_a_refused_connection_is_transient(
    http_client: httpx.Client, accounts: Accounts, closed_port_url: str
) -> None:
    outcome = ConnectSafely(http_client, closed_port_url).send(
        accounts["bob"], SendRequest(SAM, "Hi")
    )
    assert isinstance(outcome, Transient)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (SendRequest(SAM, ""), "text"),
        (
            SendRequest(SAM, "Hi", subject="S", inmail=True, conversation_urn=CONVERSATION),
            "conversation_urn",
        ),
        (SendRequest(SAM, "Hi", media_link="https://example.com/a.png"), "media_link"),
        (SendRequest(SAM, "Hi", media_file=MediaFile("image/png", b"x")), "media_file"),
    ],
)
def test_validation(request_: SendRequest, field: str) -> None:
    assert [p.field for p in ConnectSafely.check(request_)] == [field]


def test_a_subject_on_an_ordinary_message_is_allowed() -> None:
    assert ConnectSafely.check(SendRequest(SAM, "Hi", subject="Quick question")) == []


def test_an_inmail_without_a_subject_is_allowed_as_the_docs_make_it_optional() -> None:
    assert ConnectSafely.check(SendRequest(SAM, "Hi", inmail=True)) == []
