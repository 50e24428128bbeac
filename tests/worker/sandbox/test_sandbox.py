"""The sandbox itself: the documented answers, its records, pacing checks and fault rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from worker.sandbox.control import SandboxClient
from worker.sandbox.faults import parse_fault
from worker.sandbox.server import Sandbox
from worker.sandbox.state import Task, fingerprint

LINKUP = "/v1/messages/send-message"
OUTX_SEND = "/linkedin-agent/send-message"


@pytest.fixture
def raw(sandbox_server: Sandbox, sandbox: SandboxClient) -> Iterator[httpx.Client]:
    """Plain HTTP to the sandbox, to see its answers as a provider's client would."""
    with httpx.Client(base_url=sandbox_server.url, timeout=5) as client:
        yield client


def _linkup(raw: httpx.Client, token: str = "token-aaaaaa", **body: Any) -> httpx.Response:
    payload = {
        "linkedin_url": "https://www.linkedin.com/in/jane",
        "message_text": "Hi",
        "login_token": token,
        **body,
    }
    return raw.post(LINKUP, json=payload, headers={"x-api-key": "key-123456"})


def test_linkup_documents_its_errors_as_http_200(raw: httpx.Client) -> None:
    answer = _linkup(raw, linkedin_url="not a profile")
    assert answer.status_code == 200
    assert answer.json() == {"status": "error", "message": "Invalid profile URL format"}


def test_linkup_refuses_a_broken_media_file(raw: httpx.Client) -> None:
    answer = _linkup(raw, media_file="data:image/png;base64,@@@")
    assert answer.json()["message"] == "Invalid media_file format or base64 encoding"


def test_missing_credentials_are_401(raw: httpx.Client) -> None:
    assert raw.post(LINKUP, json={}).status_code == 401
    assert raw.post("/linkedin/conversations/send", json={"message": "x"}).status_code == 401
    assert raw.post(OUTX_SEND, json={}).json() == {"success": False, "error": "Missing API Key"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"message": "Hi"}, "Missing or invalid 'recipient_urn'"),
        ({"recipient_urn": 42, "message": "Hi"}, "Missing or invalid 'recipient_urn'"),
        ({"recipient_urn": "urn:li:person:A", "message": "   "}, "Missing or invalid 'message'"),
        (
            {"recipient_urn": "urn:li:person:A", "message": "x" * 10_001},
            "Message text is too long (max 10000 characters)",
        ),
    ],
)
def test_outx_answers_its_documented_400s(
    raw: httpx.Client, body: dict[str, Any], error: str
) -> None:
    answer = raw.post(OUTX_SEND, json=body, headers={"x-api-key": "ox-key-123"})
    assert (answer.status_code, answer.json()["error"]) == (400, error)


def test_a_sender_faster_than_the_minimum_gap_is_recorded(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.configure(min_gap_s=0.2)
    _linkup(raw, token="token-fast-sender")
    _linkup(raw, token="token-fast-sender")
    _linkup(raw, token="token-other-sender")  # another account: no gap to keep with the first
    time.sleep(0.25)
    _linkup(raw, token="token-other-sender")

    [violation] = sandbox.violations()
    assert violation["gap_s"] < 0.2
    assert [r["gap_s"] is None for r in sandbox.requests()] == [True, False, True, False]


def test_the_record_never_shows_a_key_or_token(raw: httpx.Client, sandbox: SandboxClient) -> None:
    _linkup(raw, token="token-very-secret-1")
    dump = str(sandbox.messages()) + str(sandbox.requests())
    assert "token-very-secret-1" not in dump
    assert "key-123456" not in dump


def test_a_fault_with_a_count_is_used_up(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sandbox.add_fault("status", provider="linkup", status=503, count=2)
    statuses = [_linkup(raw).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_a_fault_without_a_count_lasts(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sandbox.add_fault("status", provider="linkup", status=401, count=None)
    assert [_linkup(raw).status_code for _ in range(3)] == [401, 401, 401]
    sandbox.clear_faults()
    assert _linkup(raw).status_code == 200


def test_a_fault_matches_only_its_sender(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sandbox.add_fault(
        "rate_limit", provider="linkup", sender=fingerprint("token-slowed"), count=None
    )
    assert _linkup(raw, token="token-slowed").status_code == 429
    assert _linkup(raw, token="token-unaffected").status_code == 200


def test_rate_limited_and_failed_requests_deliver_nothing(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("rate_limit", provider="linkup", form="http_200")
    sandbox.add_fault("status", provider="linkup", status=503)
    _linkup(raw)
    _linkup(raw)
    assert sandbox.messages() == []
    assert len(sandbox.requests()) == 2


def test_reset_forgets_everything_and_restores_the_config(sandbox: SandboxClient) -> None:
    sandbox.configure(min_gap_s=5)
    sandbox.add_fault("drop")
    sandbox.reset()
    assert sandbox.configure() == {"min_gap_s": 0.0, "outx_complete_after_s": 0.0}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "explode"}, "kind must be one of"),
        ({"kind": "status", "colour": "red"}, "unknown fault fields: colour"),
        ({"kind": "outx_task", "result": "maybe"}, "result must be one of"),
        ({"kind": "status", "count": 0}, "count must be 1 or more"),
    ],
)
def test_bad_fault_rules_are_refused_with_the_reason(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault(document)


def test_the_control_api_explains_a_bad_fault(raw: httpx.Client) -> None:
    answer = raw.post("/_sandbox/faults", json={"kind": "nope"})
    assert answer.status_code == 400
    assert "kind must be one of" in answer.json()["error"]


def test_unknown_paths_and_methods(raw: httpx.Client) -> None:
    assert raw.get("/v1/nothing").status_code == 404
    assert raw.get(LINKUP).status_code == 405


@pytest.mark.parametrize(
    ("result", "elapsed_s", "status"),
    [
        ("complete", 0.0, "pending"),
        ("complete", 0.6, "processing"),
        ("complete", 1.0, "completed"),
        ("fail", 1.0, "failed"),
        ("complete_unsent", 1.0, "completed"),
        ("pending", 1e6, "pending"),
    ],
)
def test_an_outx_task_moves_through_its_states(result: str, elapsed_s: float, status: str) -> None:
    task = Task(
        id="t",
        sender="s",
        message_id="m",
        recipient_urn="r",
        text="x",
        created_at=100.0,
        result=result,
        after_s=1.0,
    )
    assert task.status_at(100.0 + elapsed_s) == status


def test_an_outx_task_rule_shapes_task_creation_not_status_checks() -> None:
    rule = parse_fault({"kind": "outx_task", "result": "fail"})
    assert rule.matches("outx", "/linkedin-agent/send-message", "k_x")
    assert not rule.matches("outx", "/linkedin-agent/get-task-status", "k_x")
