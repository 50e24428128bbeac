"""LinkUp adapter against the sandbox over real HTTP: request shape, every outcome, validation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.fakes import FIXED_NOW
from tests.worker.providers.expect import assert_outcome
from worker.accounts import Accounts
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.providers.base import MediaFile, SendRequest
from worker.providers.linkup import LinkUp
from worker.providers.outcomes import RateLimited, Rejected, Sent, Transient, Unknown
from worker.recipients import parse_recipient
from worker.settings import Settings

JANE = parse_recipient("https://www.linkedin.com/in/jane-doe")


@pytest.fixture
def linkup(http_client: httpx.Client, settings: Settings) -> LinkUp:
    return LinkUp(http_client, settings.linkup_base_url, clock=lambda: FIXED_NOW)


def test_sends_the_documented_body_and_returns_provider_ids(
    linkup: LinkUp, accounts: Accounts, sandbox: SandboxClient
) -> None:
    outcome = linkup.send(accounts["alice"], SendRequest(JANE, "Hi Jane"))

    assert isinstance(outcome, Sent)
    assert outcome.message_urn and outcome.message_urn.startswith("urn:li:msg_message:")
    assert outcome.conversation_urn and outcome.conversation_urn.startswith(
        "urn:li:msg_conversation:"
    )
    assert outcome.delivered_at is not None
    [message] = sandbox.messages()
    assert message["recipient"] == "https://www.linkedin.com/in/jane-doe"
    assert message["text"] == "Hi Jane"
    assert message["sender"] == sender_of(accounts["alice"])


def test_a_profile_urn_is_sent_as_the_bare_id_linkup_documents(
    linkup: LinkUp, accounts: Accounts, sandbox: SandboxClient
) -> None:
    recipient = parse_recipient("urn:li:fsd_profile:ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e-JhvGqQ")
    assert isinstance(linkup.send(accounts["alice"], SendRequest(recipient, "Hi")), Sent)
    assert sandbox.messages()[0]["recipient"] == "ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e-JhvGqQ"


def test_media_link_has_priority_over_media_file(
    linkup: LinkUp, accounts: Accounts, sandbox: SandboxClient
) -> None:
    request = SendRequest(
        JANE,
        "Deck attached",
        media_link="https://example.com/deck.pdf",
        media_file=MediaFile("image/png", b"\x89PNG"),
    )
    assert isinstance(linkup.send(accounts["alice"], request), Sent)
    assert sandbox.messages()[0]["media"] == "https://example.com/deck.pdf"


def test_media_file_goes_as_a_base64_data_url(
    linkup: LinkUp, accounts: Accounts, sandbox: SandboxClient
) -> None:
    request = SendRequest(JANE, "Photo", media_file=MediaFile("image/png", b"\x89PNG"))
    assert isinstance(linkup.send(accounts["alice"], request), Sent)
    assert sandbox.messages()[0]["media"] == "media_file"


RATE_LIMIT_TEXT = "Rate limiting from LinkedIn"


@pytest.mark.parametrize(
    ("fault", "expected", "extra"),
    [
        pytest.param(
            {"kind": "rate_limit", "form": "http_200"},
            RateLimited,
            {"retry_at": None, "http_status": 200},
            id="rate-limit-as-http-200-error",
        ),
        pytest.param(
            {"kind": "rate_limit", "form": "http_429", "retry_after_s": 120},
            RateLimited,
            {"retry_at": FIXED_NOW + timedelta(seconds=120), "http_status": 429},
            id="rate-limit-as-http-429-with-retry-after",
        ),
        pytest.param(
            {
                "kind": "respond",
                "status": 200,
                "body": {"status": "error", "message": "Invalid profile URL format"},
            },
            Rejected,
            {"reason": "Invalid profile URL format", "account_level": False},
            id="invalid-profile-url",
        ),
        pytest.param(
            {
                "kind": "respond",
                "status": 200,
                "body": {
                    "status": "error",
                    "message": "Invalid media_file format or base64 encoding",
                },
            },
            Rejected,
            {"account_level": False},
            id="invalid-media-file",
        ),
        pytest.param(
            {
                "kind": "respond",
                "status": 200,
                "body": {"status": "error", "message": "Network or permission errors"},
            },
            Transient,
            {"http_status": 200},
            id="network-or-permission-error-is-retried",
        ),
        pytest.param(
            {
                "kind": "respond",
                "status": 200,
                "body": {"status": "error", "message": "Profile not accessible with this session"},
            },
            Rejected,
            {"account_level": False, "recognised": False},
            id="an-undocumented-error-naming-the-session-is-unrecognised-not-account-wide",
        ),
        pytest.param(
            {"kind": "unknown_error"},
            Rejected,
            {"account_level": False, "recognised": False, "http_status": 200},
            id="unknown-wording",
        ),
        pytest.param(
            {"kind": "status", "status": 401, "error": "Invalid API key"},
            Rejected,
            {"account_level": True, "http_status": 401},
            id="bad-api-key",
        ),
        pytest.param(
            {"kind": "status", "status": 400, "error": "'message_text' is required"},
            Rejected,
            {"account_level": False, "http_status": 400, "recognised": False},
            id="bad-request",
        ),
        pytest.param(
            {"kind": "status", "status": 503},
            Unknown,
            {"http_status": 503},
            id="gateway-503-may-have-passed-it-on",
        ),
        pytest.param(
            {"kind": "gateway_html"},
            Unknown,
            {"http_status": 504},
            id="delivered-then-504-html",
        ),
        pytest.param(
            {"kind": "status", "status": 500},
            Unknown,
            {"http_status": 500},
            id="server-error-may-have-sent",
        ),
        pytest.param(
            {"kind": "unreadable_success"},
            Unknown,
            {"http_status": 200},
            id="unreadable-success",
        ),
        pytest.param(
            {"kind": "respond", "status": 200, "body": {"ok": True}, "deliver": True},
            Unknown,
            {"http_status": 200},
            id="success-in-no-documented-form",
        ),
        pytest.param(
            {"kind": "respond", "status": 302, "body": {}},
            Unknown,
            {"http_status": 302},
            id="redirect",
        ),
        pytest.param({"kind": "slow", "delay_s": 1.5}, Unknown, {}, id="read-timeout"),
        pytest.param({"kind": "drop"}, Unknown, {}, id="connection-dropped-after-request"),
    ],
)
def test_outcome_classification(
    linkup: LinkUp,
    accounts: Accounts,
    sandbox: SandboxClient,
    fault: dict[str, Any],
    expected: type,
    extra: dict[str, Any],
) -> None:
    sandbox.add_fault(provider="linkup", **fault)

    outcome = linkup.send(accounts["alice"], SendRequest(JANE, "Hi Jane"))

    assert_outcome(outcome, expected, extra)


def test_a_refused_connection_is_transient(
    http_client: httpx.Client, accounts: Accounts, closed_port_url: str
) -> None:
    outcome = LinkUp(http_client, closed_port_url).send(accounts["alice"], SendRequest(JANE, "Hi"))
    assert isinstance(outcome, Transient)
    assert "not sent" in outcome.reason


def test_a_success_without_data_is_sent_as_the_reference_page_shows(
    linkup: LinkUp, accounts: Accounts, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("no_data", provider="linkup")
    outcome = linkup.send(accounts["alice"], SendRequest(JANE, "Hi"))
    assert outcome == Sent(http_status=200)


def test_a_read_timeout_leaves_a_delivered_message_behind(
    linkup: LinkUp, accounts: Accounts, sandbox: SandboxClient
) -> None:
    # The point of Unknown: the provider did send, the client just never heard.
    sandbox.add_fault("slow", provider="linkup", delay_s=1.5)
    assert isinstance(linkup.send(accounts["alice"], SendRequest(JANE, "Hi")), Unknown)
    assert len(sandbox.messages()) == 1


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (SendRequest(JANE, "   "), "text"),
        (SendRequest(JANE, "x" * 8001), "text"),
        (SendRequest(JANE, "Hi", subject="Hello"), "subject"),
        (SendRequest(JANE, "Hi", inmail=True), "inmail"),
        (SendRequest(JANE, "Hi", media_link="https://example.com/deck.docx"), "media_link"),
        (SendRequest(JANE, "Hi", media_link="ftp://example.com/deck.pdf"), "media_link"),
        (SendRequest(JANE, "Hi", media_link="https://example.com/photo.jpg"), "media_link"),
    ],
)
def test_validation_refuses_what_linkup_cannot_send(request_: SendRequest, field: str) -> None:
    assert [p.field for p in LinkUp.check(request_)] == [field]


@pytest.mark.parametrize(
    "link", ["https://cdn.example.com/a.png", "https://x.io/v.MP4?sig=1", "https://x.io/p.jpeg"]
)
def test_validation_accepts_documented_media_links(link: str) -> None:
    assert LinkUp.check(SendRequest(JANE, "Hi", media_link=link)) == []


def test_a_media_file_of_any_type_is_left_to_linkup() -> None:
    # The page states no file types for media_file, so outreach invents none.
    assert LinkUp.check(SendRequest(JANE, "Hi", media_file=MediaFile("text/plain", b"x"))) == []


def test_the_length_limit_says_it_is_outreachs_own_rule() -> None:
    [problem] = LinkUp.check(SendRequest(JANE, "x" * 8001))
    assert "outreach's own limit" in str(problem) and "LinkUp documents none" in str(problem)


def test_an_invalid_request_is_refused_without_any_http(
    linkup: LinkUp, accounts: Accounts, sandbox: SandboxClient
) -> None:
    outcome = linkup.send(accounts["alice"], SendRequest(JANE, "Hi", inmail=True))
    assert isinstance(outcome, Rejected)
    assert sandbox.requests() == []


@pytest.mark.parametrize("encoded", ["iVBORw0KGgo=", "data:image/png;base64,iVBORw0KGgo="])
def test_media_file_base64_with_or_without_data_prefix(encoded: str) -> None:
    media = MediaFile.from_base64(encoded, "image/png")
    assert media.data == b"\x89PNG\r\n\x1a\n"
    assert media.content_type == "image/png"


def test_media_file_rejects_broken_base64() -> None:
    with pytest.raises(ValueError, match="base64"):
        MediaFile.from_base64("not base64!!")
