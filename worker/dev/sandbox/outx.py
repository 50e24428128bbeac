"""The sandbox's OutX: `POST /linkedin-agent/send-message` creates a task, and
`GET /linkedin-agent/get-task-status` reports it: `pending` (task_output null), then `completed`
with task_output `{"sent": true}`, or `{"sent": false}` for a task a fault fails.

`POST /linkedin-agent/fetch-profile` (`{"profile_slug": …}`) creates a Fetch Profile task,
reported the same way: `completed` with `task_input` `{"task_type": "agent_profile_fetch",
"profile_slug": …}` and the profile in `task_output`, its `profile_urn` the person's
`urn:li:fsd_profile:…` (`people`). Everyone exists: a task that an `outx_task` rule on this
path fails (narrowed to one `profile_slug`, a profile that is not there) completes without
one, as the docs do not show that case. A
fetch is an action of the account like a send: it is in the request log and its pacing checks.

Errors are the documented ones, in their words: the send-message page's table (the seed) and the
Get Task Status page's (https://docs.outx.ai/linkedin-api/get-task-status: 400 "Missing or
invalid 'api_agent_task_id'", 404 "Agent task not found" for another team's or no task).
"""

from __future__ import annotations

import time
from typing import Any

from worker.dev.sandbox.dialect import Answer, Call, Dialect, fault_answer, run_send, with_fault
from worker.dev.sandbox.faults import Fault
from worker.dev.sandbox.state import SandboxState, Task, fingerprint

SEND_PATH = "/linkedin-agent/send-message"
STATUS_PATH = "/linkedin-agent/get-task-status"
FETCH_PATH = "/linkedin-agent/fetch-profile"
MAX_MESSAGE_CHARS = 10_000


def _error(status: int, message: str) -> Answer:
    # OutX's errors page shows error bodies as {"error": "..."}.
    return Answer(status, {"error": message})


def _rate_limited(fault: Fault) -> Answer:
    answer = _error(429, "Too many requests")
    if fault.retry_after_s is not None:
        answer.headers["Retry-After"] = str(int(fault.retry_after_s))
    return answer


DIALECT = Dialect("outx", _error, _rate_limited, unknown_status=400)


def send_message(state: SandboxState, call: Call) -> Answer:
    key = call.headers.get("x-api-key")
    if not key:
        return _error(401, "Missing API Key")
    body = call.body if isinstance(call.body, dict) else {}
    sender = fingerprint(key)

    def validate() -> Answer | None:
        # The documented 400s, in the documented words.
        if not isinstance(body.get("recipient_urn"), str):
            return _error(400, "Missing or invalid 'recipient_urn'")
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            return _error(400, "Missing or invalid 'message'")
        if len(message) > MAX_MESSAGE_CHARS:
            return _error(400, "Message text is too long (max 10000 characters)")
        return None

    def accept(fault: Fault | None) -> Answer:
        message = state.deliver(
            provider="outx",
            path=SEND_PATH,
            sender=sender,
            recipient=body["recipient_urn"],
            text=body["message"],
        )
        # Any string is taken (the 400 is for one missing or not a string); how a task for a
        # recipient that is no person URN or no connection ends, the docs do not show: an
        # `outx_task` fault says.
        task = state.create_task(message, fault)
        return Answer(
            200,
            {
                "success": True,
                "api_agent_task_id": task.id,
                "message": "Send message task created successfully",
            },
        )

    return run_send(state, call, DIALECT, sender, validate=validate, accept=accept)


def fetch_profile(state: SandboxState, call: Call) -> Answer:
    key = call.headers.get("x-api-key")
    if not key:
        return _error(401, "Missing API Key")
    body = call.body if isinstance(call.body, dict) else {}
    sender = fingerprint(key)

    def validate() -> Answer | None:
        slug = body.get("profile_slug")
        if not isinstance(slug, str) or not slug.strip():
            return _error(400, "Missing or invalid 'profile_slug'")
        return None

    def accept(fault: Fault | None) -> Answer:
        task = state.create_fetch_task(sender, body["profile_slug"], fault)
        return Answer(
            200,
            {
                "success": True,
                "api_agent_task_id": task.id,
                "message": "Profile fetch task created successfully",
            },
        )

    slug = body.get("profile_slug")
    return run_send(
        state, call, DIALECT, sender, validate=validate, accept=accept,
        profile_slug=slug if isinstance(slug, str) else None,
    )  # fmt: skip


def get_task_status(state: SandboxState, call: Call) -> Answer:
    key = call.headers.get("x-api-key")
    if not key:
        return _error(401, "Missing API Key")
    sender = fingerprint(key)
    fault = state.take_fault("outx", STATUS_PATH, sender)
    if fault is not None and not fault.delivers:
        return fault_answer(fault, DIALECT)
    return with_fault(fault, DIALECT, _task_status(state, call, sender))


def _task_status(state: SandboxState, call: Call, sender: str) -> Answer:
    task_id = call.query.get("api_agent_task_id")
    if not task_id:
        return _error(400, "Missing or invalid 'api_agent_task_id'")
    task = state.tasks.get(task_id)
    if task is None or task.sender != sender:
        return _error(404, "Agent task not found")
    return Answer(200, {"success": True, "data": task_view(task, time.time())})


def task_view(task: Task, now: float) -> dict[str, Any]:
    task_input: dict[str, Any] = {
        "task_type": "agent_send_message",
        "recipient_urn": task.recipient_urn,
        "message": task.text,
    }
    if task.profile_slug is not None:
        task_input = {"task_type": "agent_profile_fetch", "profile_slug": task.profile_slug}
    return {
        "id": task.id,
        "status": task.status_at(now),
        "task_input": task_input,
        "task_output": task.output_at(now),
    }
