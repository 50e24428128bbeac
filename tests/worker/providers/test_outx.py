"""OutX adapter against the sandbox: task creation, status checks, every outcome."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.fakes import FIXED_NOW
from tests.worker.providers.expect import assert_outcome
from worker.accounts import Accounts
from worker.dev.sandbox.control import SandboxClient
from worker.providers.base import SendRequest
from worker.providers.outcomes import (
    Accepted,
    Pending,
    RateLimited,
    Rejected,
    Sent,
    Transient,
    Unknown,
)
from worker.providers.outx import OutX
from worker.recipients import parse_recipient
from worker.settings import Settings

KIM = parse_recipient("urn:li:person:ACoAABCDEFGhijklmnopqrstu")


@pytest.fixture
def outx(http_client: httpx.Client, settings: Settings) -> OutX:
    return OutX(http_client, settings.outx_base_url, clock=lambda: FIXED_NOW)


def _accepted(outx: OutX, accounts: Accounts, text: str = "Hi Kim") -> str:
    outcome = outx.send(accounts["carol"], SendRequest(KIM, text))
    assert isinstance(outcome, Accepted), outcome
    return outcome.task_id


def test_a_send_creates_a_task_that_completes_as_sent(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    task_id = _accepted(outx, accounts)

    assert isinstance(outx.check_task(accounts["carol"], task_id), Sent)
    [message] = sandbox.messages()
    assert (message["recipient"], message["text"], message["status"]) == (
        KIM.value,
        "Hi Kim",
        "sent",
    )


def test_an_fsd_profile_urn_is_sent_as_a_person_urn(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    recipient = parse_recipient("urn:li:fsd_profile:ACoAABCDEFGhijklmnopqrstu")
    assert isinstance(outx.send(accounts["carol"], SendRequest(recipient, "Hi")), Accepted)
    assert sandbox.messages()[0]["recipient"] == KIM.value


@pytest.mark.parametrize(
    ("task", "expected", "reason"),
    [
        (
            {"result": "fail", "error": "Not a 1st-degree connection"},
            Rejected,
            "Not a 1st-degree connection",
        ),
        ({"result": "fail"}, Rejected, "the task completed without sending"),
        ({"result": "pending"}, Pending, None),
    ],
)
def test_task_endings(
    outx: OutX,
    accounts: Accounts,
    sandbox: SandboxClient,
    task: dict[str, Any],
    expected: type,
    reason: str | None,
) -> None:
    sandbox.add_fault("outx_task", provider="outx", **task)
    outcome = outx.check_task(accounts["carol"], _accepted(outx, accounts))
    assert isinstance(outcome, expected), outcome
    if reason is not None:
        assert outcome.reason == reason  # type: ignore[union-attr]


def test_a_slow_task_is_pending_until_it_completes(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("outx_task", provider="outx", after_s=0.4)
    task_id = _accepted(outx, accounts)

    seen = [outx.check_task(accounts["carol"], task_id)]
    deadline = time.monotonic() + 5
    while isinstance(seen[-1], Pending) and time.monotonic() < deadline:
        time.sleep(0.05)
        seen.append(outx.check_task(accounts["carol"], task_id))

    assert isinstance(seen[0], Pending)
    assert seen[0].status == "pending"
    assert isinstance(seen[-1], Sent)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": "completed", "task_output": {}}, Unknown),
        ({"status": "completed", "task_output": {"sent": "yes"}}, Unknown),
        ({"status": "exploded", "task_output": None}, Pending),
        ({"status": "failed", "task_output": None}, Pending),
        ({"status": "failed", "task_output": {"sent": False}}, Pending),
        ({"status": "processing", "task_output": None}, Pending),
        ({"task_output": {"sent": True}}, Pending),
    ],
)
def test_a_status_word_the_docs_do_not_list_means_not_finished_yet(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient, body: dict[str, Any], expected: type
) -> None:
    task_id = _accepted(outx, accounts)
    sandbox.add_fault(
        "respond",
        provider="outx",
        path="/linkedin-agent/get-task-status",
        status=200,
        body={"success": True, "data": {"id": task_id, **body}},
    )
    assert isinstance(outx.check_task(accounts["carol"], task_id), expected)


@pytest.mark.parametrize(
    ("fault", "expected", "extra"),
    [
        pytest.param(
            {
                "kind": "status",
                "status": 400,
                "error": "Message text is too long (max 10000 characters)",
            },
            Rejected,
            {"account_level": False},
            id="400-too-long",
        ),
        pytest.param(
            {"kind": "status", "status": 401, "error": "Invalid API Key"},
            Rejected,
            {"account_level": True},
            id="401-invalid-key",
        ),
        pytest.param(
            {
                "kind": "status",
                "status": 403,
                "error": "Plugin installation required. Install the OutX extension.",
            },
            Rejected,
            {"account_level": True},
            id="403-plugin-inactive",
        ),
        pytest.param(
            {"kind": "status", "status": 404, "error": "No admin user found in the team"},
            Rejected,
            {"account_level": True},
            id="404-no-admin",
        ),
        pytest.param(
            {"kind": "rate_limit", "retry_after_s": 60},
            RateLimited,
            {"retry_at": FIXED_NOW + timedelta(seconds=60)},
            id="429-retry-after",
        ),
        pytest.param({"kind": "status", "status": 500}, Unknown, {}, id="500-task-may-exist"),
        pytest.param({"kind": "status", "status": 503}, Unknown, {}, id="503-task-may-exist"),
        pytest.param({"kind": "gateway_html"}, Unknown, {}, id="delivered-then-504-html"),
        pytest.param(
            {"kind": "respond", "status": 200, "body": {"success": True}},
            Unknown,
            {},
            id="200-without-task-id",
        ),
        pytest.param(
            {"kind": "status", "status": 400, "error": "Missing or invalid 'recipient_urn'"},
            Rejected,
            {"account_level": False, "recognised": True},
            id="400-documented",
        ),
        pytest.param(
            {"kind": "unknown_error"},
            Rejected,
            {"account_level": False, "recognised": False, "http_status": 400},
            id="400-unknown-wording",
        ),
        pytest.param({"kind": "slow", "delay_s": 1.5}, Unknown, {}, id="read-timeout"),
    ],
)
def test_send_outcome_classification(
    outx: OutX,
    accounts: Accounts,
    sandbox: SandboxClient,
    fault: dict[str, Any],
    expected: type,
    extra: dict[str, Any],
) -> None:
    sandbox.add_fault(provider="outx", path="/linkedin-agent/send-message", **fault)

    outcome = outx.send(accounts["carol"], SendRequest(KIM, "Hi Kim"))

    assert_outcome(outcome, expected, extra)


@pytest.mark.parametrize(
    ("fault", "expected", "extra"),
    [
        pytest.param({"kind": "status", "status": 503}, Transient, {}, id="503"),
        pytest.param({"kind": "status", "status": 500}, Transient, {}, id="500-a-check-is-safe"),
        pytest.param({"kind": "slow", "delay_s": 1.5}, Transient, {}, id="read-timeout-is-safe"),
        pytest.param(
            {"kind": "status", "status": 401, "error": "Invalid API Key"},
            Rejected,
            {"account_level": True},
            id="401",
        ),
        pytest.param(
            {"kind": "status", "status": 404, "error": "No admin user found in the team"},
            Transient,
            {"http_status": 404},
            id="404-no-admin-is-a-failed-check",
        ),
        pytest.param(
            {"kind": "status", "status": 404, "error": "Task not found"},
            Transient,
            {"http_status": 404},
            id="404-task-not-found-is-a-failed-check",
        ),
        pytest.param(
            {"kind": "status", "status": 400, "error": "Missing 'api_agent_task_id'"},
            Transient,
            {"http_status": 400},
            id="400-is-a-failed-check",
        ),
        pytest.param(
            {"kind": "gateway_html", "status": 502, "deliver": False},
            Transient,
            {"http_status": 502},
            id="html-is-a-failed-check",
        ),
        pytest.param({"kind": "rate_limit"}, Transient, {"http_status": 429}, id="429"),
    ],
)
def test_status_check_classification(
    outx: OutX,
    accounts: Accounts,
    sandbox: SandboxClient,
    fault: dict[str, Any],
    expected: type,
    extra: dict[str, Any],
) -> None:
    task_id = _accepted(outx, accounts)
    sandbox.add_fault(provider="outx", path="/linkedin-agent/get-task-status", **fault)

    outcome = outx.check_task(accounts["carol"], task_id)

    assert_outcome(outcome, expected, extra)


def test_a_task_of_another_key_is_not_found(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    task_id = _accepted(outx, accounts)
    other = accounts["carol"].__class__(
        name="dave", provider="outx", api_key=accounts["bob"].api_key
    )
    assert isinstance(outx.check_task(other, task_id), Transient)


def test_a_refused_connection_is_transient_for_sends_and_checks(
    http_client: httpx.Client, accounts: Accounts, closed_port_url: str
) -> None:
    offline = OutX(http_client, closed_port_url)
    assert isinstance(offline.send(accounts["carol"], SendRequest(KIM, "Hi")), Transient)
    assert isinstance(offline.check_task(accounts["carol"], "some-task"), Transient)


@pytest.mark.parametrize(
    ("recipient", "text", "fields"),
    [
        ("https://www.linkedin.com/in/kim-lee", "Hi", []),  # resolved by Fetch Profile first
        ("kim-lee", "Hi", []),
        ("urn:li:member:123456789", "Hi", ["recipient"]),
        (KIM.value, " \n ", ["text"]),
        (KIM.value, "x" * 10_001, ["text"]),
        (KIM.value, "x" * 10_000, []),
    ],
)
def test_validation(recipient: str, text: str, fields: list[str]) -> None:
    request = SendRequest(parse_recipient(recipient), text)
    assert [p.field for p in OutX.check(request)] == fields


def test_a_profile_url_is_refused_before_sending_with_a_message_asking_for_a_urn(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    url = parse_recipient("https://www.linkedin.com/in/kim-lee")
    outcome = outx.send(accounts["carol"], SendRequest(url, "Hi"))
    assert isinstance(outcome, Rejected)
    assert "URN" in outcome.reason
    assert sandbox.requests() == []


@pytest.mark.parametrize("field", ["subject", "inmail", "media_link"])
def test_outx_sends_text_only(field: str) -> None:
    value: Any = True if field == "inmail" else "https://example.com/a.png"
    request = SendRequest(KIM, "Hi", **{field: value})
    assert [p.field for p in OutX.check(request)] == [field]
