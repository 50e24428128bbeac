"""The sandbox itself: the documented answers, its records, pacing checks and fault rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.faults import TaskResult, parse_fault
from worker.dev.sandbox.state import Task, fingerprint

LINKUP = "/v1/messages/send-message"
OUTX_SEND = "/linkedin-agent/send-message"
OUTX_STATUS = "/linkedin-agent/get-task-status"
OUTX_KEY = {"x-api-key": "ox-key-123"}
CONVERSATIONS = "/linkedin/conversations/send"
MESSAGING = "/linkedin/messaging/send"
BEARER = {"Authorization": "Bearer cs-key-123"}


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


def test_missing_credentials_are_the_documented_401s(raw: httpx.Client) -> None:
    assert raw.post("/linkedin/conversations/send", json={"message": "x"}).status_code == 401
    assert raw.post(OUTX_SEND, json={}).json() == {"error": "Missing API Key"}


def test_linkup_without_credentials_is_its_documented_permission_error(
    raw: httpx.Client,
) -> None:
    # LinkUp documents no 401: its words for it are "Network or permission errors".
    answer = raw.post(LINKUP, json={})
    assert (answer.status_code, answer.json()) == (
        200,
        {"status": "error", "message": "Network or permission errors"},
    )


@pytest.mark.parametrize(
    "profile",
    [
        "https://www.linkedin.com/in/j%C3%A9r%C3%B4me-x",
        "https://www.linkedin.com/in/jérôme-x",
        "HTTPS://WWW.LinkedIn.com/in/Jane-Doe/",
        "https://fr.linkedin.com/in/jane?trk=people",
        "ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e-JhvGqQ",
    ],
)
def test_linkup_takes_any_profile_url_or_member_id(
    raw: httpx.Client, sandbox: SandboxClient, profile: str
) -> None:
    assert _linkup(raw, linkedin_url=profile).json()["status"] == "success"
    assert sandbox.messages()[0]["recipient"] == profile


@pytest.mark.parametrize(
    "extra",
    [{"country": "JP"}, {"media_link": "https://example.com/deck.docx"}],
    ids=["unlisted-country", "other-media-extension"],
)
def test_linkup_sends_what_its_docs_name_no_error_for(
    raw: httpx.Client, sandbox: SandboxClient, extra: dict[str, str]
) -> None:
    assert _linkup(raw, **extra).json()["status"] == "success"
    assert len(sandbox.messages()) == 1


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
    assert sandbox.configure() == {
        "min_gap_s": 0.0,
        "outx_complete_after_s": 0.0,
        "read_min_gap_s": 0.0,
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "explode"}, "kind must be one of"),
        ({"kind": "status", "colour": "red"}, "unknown fault fields: colour"),
        ({"kind": "outx_task", "result": "maybe"}, "result must be one of"),
        ({"kind": "outx_task", "result": "complete_unsent"}, "result must be one of"),
        ({"kind": "outx_task", "statuses": []}, "statuses must be a non-empty list"),
        ({"kind": "status", "statuses": ["queued"]}, "statuses applies only to outx_task"),
        ({"kind": "status", "deliver": True}, "deliver applies only to"),
        ({"kind": "respond", "body": {}, "content_type": "text/html"}, "body must be the text"),
        ({"kind": "no_data", "provider": "outx"}, "no_data is LinkUp's alone"),
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


def _task(result: TaskResult = "complete", **shape: Any) -> Task:
    return Task(
        id="t", sender="s", message_id="m", recipient_urn="r", text="x", created_at=100.0,
        result=result, **shape,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("result", "elapsed_s", "status", "output"),
    [
        ("complete", 0.0, "pending", None),
        ("complete", 0.6, "pending", None),
        ("complete", 1.0, "completed", {"sent": True}),
        ("fail", 0.6, "pending", None),
        ("fail", 1.0, "completed", {"sent": False}),
        ("pending", 1e6, "pending", None),
    ],
)
def test_an_outx_task_is_pending_then_completed_as_documented(
    result: TaskResult, elapsed_s: float, status: str, output: dict[str, bool] | None
) -> None:
    task = _task(result, after_s=1.0)
    now = 100.0 + elapsed_s
    assert (task.status_at(now), task.output_at(now)) == (status, output)


def test_a_failed_task_says_why_only_when_its_rule_does() -> None:
    task = _task("fail", error="Not a connection")
    assert task.output_at(100.0) == {"sent": False, "error": "Not a connection"}


@pytest.mark.parametrize(
    ("elapsed_s", "status"),
    [(0.0, "queued"), (0.34, "processing"), (0.7, "in_progress"), (1.0, "done")],
)
def test_a_task_rule_can_name_undocumented_status_words(elapsed_s: float, status: str) -> None:
    task = _task(after_s=1.0, statuses=("queued", "processing", "in_progress"), final_status="done")
    assert task.status_at(100.0 + elapsed_s) == status


def test_a_task_that_never_finishes_stays_on_its_last_word() -> None:
    task = _task("pending", after_s=1.0, statuses=("queued", "running"))
    assert task.status_at(1e6) == "running"
    assert task.output_at(1e6) is None


def test_an_outx_task_rule_shapes_task_creation_not_status_checks() -> None:
    rule = parse_fault({"kind": "outx_task", "result": "fail"})
    assert rule.matches("outx", "/linkedin-agent/send-message", "k_x")
    assert not rule.matches("outx", "/linkedin-agent/get-task-status", "k_x")


def _outx_send(raw: httpx.Client, recipient: str = "urn:li:person:ACoAABCDEFG") -> httpx.Response:
    return raw.post(OUTX_SEND, json={"recipient_urn": recipient, "message": "Hi"}, headers=OUTX_KEY)


def _outx(raw: httpx.Client, recipient: str = "urn:li:person:ACoAABCDEFG") -> str:
    """Create an OutX task; its id."""
    task_id: str = _outx_send(raw, recipient).json()["api_agent_task_id"]
    return task_id


def _connectsafely(raw: httpx.Client, path: str = CONVERSATIONS, **body: Any) -> httpx.Response:
    return raw.post(path, json={"message": "Hi", "recipientProfileId": "x", **body}, headers=BEARER)


def _task_status(raw: httpx.Client, task_id: str) -> httpx.Response:
    return raw.get(OUTX_STATUS, params={"api_agent_task_id": task_id}, headers=OUTX_KEY)


def test_an_outx_task_answers_the_documented_completed_shape(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    task_id = _outx(raw)
    assert _task_status(raw, task_id).json() == {
        "success": True,
        "data": {
            "id": task_id,
            "status": "completed",
            "task_input": {
                "task_type": "agent_send_message",
                "recipient_urn": "urn:li:person:ACoAABCDEFG",
                "message": "Hi",
            },
            "task_output": {"sent": True},
        },
    }
    assert sandbox.messages()[0]["status"] == "sent"


def test_an_outx_task_for_any_recipient_string_completes(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    # The docs refuse only a recipient_urn that is missing or not a string.
    task_id = _outx(raw, recipient="urn:li:fsd_profile:ACoAABCDEFG")
    assert _task_status(raw, task_id).json()["data"]["task_output"] == {"sent": True}


@pytest.mark.parametrize(
    ("rule", "output", "message_status"),
    [
        ({"result": "fail"}, {"sent": False}, "failed"),
        (
            {"result": "fail", "error": "Not a connection"},
            {"sent": False, "error": "Not a connection"},
            "failed",
        ),
        ({"result": "complete", "final_status": "done"}, {"sent": True}, "sent"),
    ],
    ids=["fail", "fail-with-error", "undocumented-final-word"],
)
def test_an_outx_task_rule_sets_how_it_ends(
    raw: httpx.Client,
    sandbox: SandboxClient,
    rule: dict[str, str],
    output: dict[str, Any],
    message_status: str,
) -> None:
    sandbox.add_fault("outx_task", provider="outx", **rule)
    data = _task_status(raw, _outx(raw)).json()["data"]
    assert (data["status"], data["task_output"]) == (rule.get("final_status", "completed"), output)
    assert sandbox.messages()[0]["status"] == message_status


def test_a_task_that_never_finishes_is_pending_with_no_output(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("outx_task", provider="outx", result="pending")
    data = _task_status(raw, _outx(raw)).json()["data"]
    assert (data["status"], data["task_output"]) == ("pending", None)
    assert sandbox.messages()[0]["status"] == "pending"


def test_task_status_errors_are_the_documented_ones(raw: httpx.Client) -> None:
    task_id = _outx(raw)
    missing = raw.get(OUTX_STATUS, headers=OUTX_KEY)
    other_team = raw.get(
        OUTX_STATUS, params={"api_agent_task_id": task_id}, headers={"x-api-key": "other-key"}
    )
    assert (missing.status_code, missing.json()["error"]) == (
        400,
        "Missing or invalid 'api_agent_task_id'",
    )
    assert (other_team.status_code, other_team.json()["error"]) == (404, "Agent task not found")


def test_a_drop_on_a_status_check_closes_the_connection(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    task_id = _outx(raw)
    sandbox.add_fault("drop", provider="outx", path=OUTX_STATUS)
    with pytest.raises(httpx.RemoteProtocolError):
        _task_status(raw, task_id)


def test_gateway_html_delivers_then_answers_an_html_page(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("gateway_html", provider="linkup")
    answer = _linkup(raw)
    assert answer.status_code == 504
    assert answer.headers["content-type"] == "text/html"
    assert answer.text.startswith("<html>\r\n<head><title>504 Gateway Time-out</title>")
    assert len(sandbox.messages()) == 1


def test_gateway_html_that_does_not_deliver(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sandbox.add_fault("gateway_html", provider="outx", status=502, deliver=False)
    answer = _outx_send(raw)
    assert answer.status_code == 502
    assert "<title>502 Bad Gateway</title>" in answer.text
    assert sandbox.messages() == []


@pytest.mark.parametrize(
    ("provider", "send", "status", "body"),
    [
        ("linkup", _linkup, 200, {"status": "error", "message": "E"}),
        ("connectsafely", _connectsafely, 400, {"error": "E"}),
        ("outx", _outx_send, 400, {"error": "E"}),
    ],
)
def test_unknown_error_is_in_the_providers_own_shape(
    raw: httpx.Client,
    sandbox: SandboxClient,
    provider: str,
    send: Callable[[httpx.Client], httpx.Response],
    status: int,
    body: dict[str, Any],
) -> None:
    sandbox.add_fault("unknown_error", provider=provider, error="E")
    answer = send(raw)
    assert (answer.status_code, answer.json()) == (status, body)
    assert sandbox.messages() == []


def test_unknown_error_has_unfamiliar_words_and_may_set_its_status(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("unknown_error", provider="linkup", status=422)
    answer = _linkup(raw)
    assert answer.status_code == 422
    assert answer.json()["message"] == "Unexpected condition E7731 while processing the request"


def test_no_data_is_linkups_reference_example(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sandbox.add_fault("no_data")
    _outx(raw)  # another provider's send leaves the rule in place
    answer = _linkup(raw)
    assert answer.json() == {"status": "success", "message": "Message sent successfully"}
    assert len(sandbox.messages()) == 2


def test_unreadable_success_delivers_and_answers_text(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("unreadable_success", provider="connectsafely")
    answer = _connectsafely(raw)
    assert (answer.status_code, answer.text) == (200, "OK")
    assert answer.headers["content-type"].startswith("text/plain")
    assert len(sandbox.messages()) == 1


def test_respond_can_send_a_raw_body(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sandbox.add_fault(
        "respond",
        provider="linkup",
        status=200,
        body='{"status": "succ',
        content_type="application/json",
    )
    answer = _linkup(raw)
    assert (answer.headers["content-type"], answer.text) == ("application/json", '{"status": "succ')


@pytest.mark.parametrize(("path", "status"), [(MESSAGING, 400), (CONVERSATIONS, 200)])
def test_only_conversations_send_takes_a_conversation_urn_alone(
    raw: httpx.Client, path: str, status: int
) -> None:
    answer = _connectsafely(
        raw, path, recipientProfileId=None, conversationUrn="urn:li:msg_conversation:1"
    )
    assert answer.status_code == status


def test_messaging_send_refuses_an_undocumented_message_type(raw: httpx.Client) -> None:
    # conversations/send documents no messageType: there it is an unknown field, ignored.
    assert _connectsafely(raw, MESSAGING, messageType="broadcast").status_code == 400
    assert _connectsafely(raw, CONVERSATIONS, messageType="broadcast").status_code == 200
