"""OutX Fetch Profile against the sandbox: a profile URL resolved to the URN a send needs."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.fakes import FIXED_NOW
from tests.worker.providers.expect import assert_outcome
from worker.accounts import Accounts
from worker.dev.sandbox import people
from worker.dev.sandbox.control import SandboxClient
from worker.providers import REGISTRY, Capability, providers_that_can
from worker.providers.base import SendRequest
from worker.providers.outcomes import (
    Accepted,
    Pending,
    RateLimited,
    Rejected,
    Resolved,
    Transient,
    Unknown,
)
from worker.providers.outx import FETCH_PATH, OutX, profile_outcome
from worker.recipients import parse_recipient
from worker.settings import Settings

JANE = parse_recipient("https://www.linkedin.com/in/jane-doe")


@pytest.fixture
def outx(http_client: httpx.Client, settings: Settings) -> OutX:
    return OutX(http_client, settings.outx_base_url, clock=lambda: FIXED_NOW)


def _started(outx: OutX, accounts: Accounts, recipient: Any = JANE) -> str:
    outcome = outx.start_profile_fetch(accounts["carol"], recipient)
    assert isinstance(outcome, Accepted), outcome
    return outcome.task_id


def test_only_outx_declares_resolving_profiles() -> None:
    assert providers_that_can(Capability.RESOLVE_PROFILE) == ["outx"]
    assert REGISTRY["outx"].adapter.needs_profile_urn(JANE)
    assert not REGISTRY["outx"].adapter.needs_profile_urn(parse_recipient("urn:li:person:ACoAAB"))


def test_a_fetch_resolves_a_profile_url_to_the_persons_urn(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    task_id = _started(outx, accounts)

    outcome = outx.profile_fetch(accounts["carol"], task_id)

    assert outcome == Resolved(people.recipient("jane-doe").urn, 200)
    [fetch] = sandbox.profile_fetches()
    assert (fetch["profile_slug"], fetch["task_id"]) == ("jane-doe", task_id)
    assert sandbox.messages() == []  # a fetch sends nothing


def test_a_resolved_urn_is_sent_as_the_person_urn_send_message_documents(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    resolved = outx.profile_fetch(accounts["carol"], _started(outx, accounts))
    assert isinstance(resolved, Resolved)
    sent = outx.send(accounts["carol"], SendRequest(parse_recipient(resolved.urn), "Hi Jane"))
    assert isinstance(sent, Accepted)
    member_id = people.recipient("jane-doe").member_id
    assert sandbox.messages()[0]["recipient"] == f"urn:li:person:{member_id}"


def test_a_public_id_is_fetched_by_its_slug(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    _started(outx, accounts, parse_recipient("jane-doe"))
    assert sandbox.profile_fetches()[0]["profile_slug"] == "jane-doe"


def test_a_fetch_is_pending_until_its_task_completes(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    sandbox.configure(outx_complete_after_s=0.3)
    task_id = _started(outx, accounts)
    assert outx.profile_fetch(accounts["carol"], task_id) == Pending("pending", 200)
    time.sleep(0.35)
    assert isinstance(outx.profile_fetch(accounts["carol"], task_id), Resolved)


def test_a_profile_that_is_not_there_cannot_be_resolved(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    # Whether a profile exists and how OutX then answers, the docs do not say: a named rule.
    sandbox.add_fault(
        "outx_task", path="/linkedin-agent/fetch-profile", result="fail",
        profile_slug="no-such-x", count=None,
    )  # fmt: skip
    task_id = _started(outx, accounts, parse_recipient("https://www.linkedin.com/in/no-such-x"))
    outcome = outx.profile_fetch(accounts["carol"], task_id)
    assert_outcome(
        outcome,
        Rejected,
        {"reason": "OutX's fetch completed without a profile_urn", "account_level": False},
    )


def test_a_failed_fetch_task_says_why_when_the_task_does(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("outx_task", path=FETCH_PATH, result="fail", error="Profile unavailable")
    outcome = outx.profile_fetch(accounts["carol"], _started(outx, accounts))
    assert_outcome(
        outcome,
        Rejected,
        {"reason": "OutX's fetch completed without a profile_urn: Profile unavailable"},
    )


@pytest.mark.parametrize(
    ("rule", "expected", "fields"),
    [
        ({"kind": "rate_limit", "retry_after_s": 60}, RateLimited, {"http_status": 429}),
        ({"kind": "status", "status": 401, "error": "Invalid API Key"}, Rejected,
         {"account_level": True}),
        ({"kind": "status", "status": 403, "error": "Plugin installation required"}, Rejected,
         {"account_level": True}),
        ({"kind": "status", "status": 400, "error": "Missing or invalid 'profile_slug'"},
         Rejected, {"account_level": False, "recognised": True}),
        # What would leave a send unknown, or an error the page does not list, cannot have sent
        # anything here: fetch again later.
        ({"kind": "status", "status": 503}, Transient, {"http_status": 503}),
        ({"kind": "status", "status": 404, "error": "No admin user found in the team"},
         Transient, {"http_status": 404}),
        ({"kind": "gateway_html", "status": 502}, Transient, {"http_status": 502}),
        ({"kind": "unreadable_success"}, Transient, {"http_status": 200}),
        ({"kind": "unknown_error"}, Transient, {"http_status": 400}),
        ({"kind": "drop"}, Transient, {}),
    ],
)  # fmt: skip
def test_fetch_outcome_classification(
    outx: OutX,
    accounts: Accounts,
    sandbox: SandboxClient,
    rule: dict[str, Any],
    expected: type,
    fields: dict[str, Any],
) -> None:
    sandbox.add_fault(provider="outx", path=FETCH_PATH, **rule)
    assert_outcome(outx.start_profile_fetch(accounts["carol"], JANE), expected, fields)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"kind": "status", "status": 500}, Transient),
        ({"kind": "gateway_html", "status": 504}, Transient),
        ({"kind": "status", "status": 401, "error": "Invalid API Key"}, Rejected),
    ],
)
def test_a_failed_status_check_of_a_fetch_is_only_a_failed_check(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient, rule: dict[str, Any], expected: type
) -> None:
    task_id = _started(outx, accounts)
    sandbox.add_fault(provider="outx", path="/linkedin-agent/get-task-status", **rule)
    outcome = outx.profile_fetch(accounts["carol"], task_id)
    assert isinstance(outcome, expected), outcome
    assert not isinstance(outcome, Rejected) or outcome.account_level


def test_a_refused_connection_is_transient(
    http_client: httpx.Client, accounts: Accounts, closed_port_url: str
) -> None:
    offline = OutX(http_client, closed_port_url)
    assert isinstance(offline.start_profile_fetch(accounts["carol"], JANE), Transient)
    assert isinstance(offline.profile_fetch(accounts["carol"], "some-task"), Transient)


@pytest.mark.parametrize(
    ("output", "task_type", "expected"),
    [
        ({"profile_urn": "urn:li:fsd_profile:ACoAABCDEFGhijklmnopqrstu"}, "agent_profile_fetch",
         Resolved("urn:li:fsd_profile:ACoAABCDEFGhijklmnopqrstu", 200)),
        ({"profile_urn": "urn:li:person:ACoAABCDEFGhijklmnopqrstu"}, None,
         Resolved("urn:li:person:ACoAABCDEFGhijklmnopqrstu", 200)),
        ({"profile_urn": "urn:li:member:12345"}, "agent_profile_fetch",
         Rejected("OutX's profile_urn 'urn:li:member:12345' is not a person URN",
                  http_status=200)),
        ({"profile_urn": "jane-doe"}, "agent_profile_fetch",
         Rejected("OutX's profile_urn 'jane-doe' is not a person URN", http_status=200)),
        (None, "agent_profile_fetch",
         Rejected("OutX's fetch completed without a profile_urn", http_status=200)),
        ({"sent": True}, "agent_send_message",
         Unknown("task is 'agent_send_message', not a profile fetch", 200)),
    ],
)  # fmt: skip
def test_what_a_completed_fetch_means(
    output: dict[str, Any] | None, task_type: str | None, expected: object
) -> None:
    data: dict[str, Any] = {"status": "completed", "task_output": output}
    if task_type is not None:
        data["task_input"] = {"task_type": task_type, "profile_slug": "jane-doe"}
    assert profile_outcome(data, 200) == expected


@pytest.mark.parametrize(
    ("recipient", "fields"),
    [
        ("https://www.linkedin.com/in/kim-lee", []),
        ("kim-lee", []),
        ("urn:li:fsd_profile:ACoAABCDEFGhijklmnopqrstu", []),
        ("urn:li:member:123456789", ["recipient"]),
    ],
)
def test_check_takes_profile_urls_to_resolve_but_not_member_urns(
    recipient: str, fields: list[str]
) -> None:
    assert [p.field for p in OutX.check(SendRequest(parse_recipient(recipient), "Hi"))] == fields


def test_send_itself_never_sends_to_a_profile_url(
    outx: OutX, accounts: Accounts, sandbox: SandboxClient
) -> None:
    outcome = outx.send(accounts["carol"], SendRequest(JANE, "Hi"))
    assert isinstance(outcome, Rejected) and "URN" in outcome.reason
    assert sandbox.requests() == []
