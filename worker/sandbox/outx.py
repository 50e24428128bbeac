"""The sandbox's OutX: `POST /linkedin-agent/send-message` creates a task, and
`GET /linkedin-agent/get-task-status` reports it: pending, processing, then completed or failed."""

from __future__ import annotations

import time
from typing import Any

from worker.sandbox.dialect import Answer, Call, Dialect, fault_answer, run_send
from worker.sandbox.faults import Fault
from worker.sandbox.state import SandboxState, Task, fingerprint

SEND_PATH = "/linkedin-agent/send-message"
STATUS_PATH = "/linkedin-agent/get-task-status"
MAX_MESSAGE_CHARS = 10_000


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"success": False, "error": message})


def _rate_limited(fault: Fault) -> Answer:
    answer = _error(429, "Too many requests")
    if fault.retry_after_s is not None:
        answer.headers["Retry-After"] = str(int(fault.retry_after_s))
    return answer


DIALECT = Dialect("outx", _error, _rate_limited)


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
        task = state.create_task(message, fault)
        if not task.recipient_urn.startswith("urn:li:person:"):
            # OutX takes any string here; LinkedIn then fails the task.
            task.result, task.error = "fail", "Invalid recipient URN"
        return Answer(
            200,
            {
                "success": True,
                "api_agent_task_id": task.id,
                "message": "Send message task created successfully",
            },
        )

    return run_send(state, call, DIALECT, sender, validate=validate, accept=accept)


def get_task_status(state: SandboxState, call: Call) -> Answer:
    key = call.headers.get("x-api-key")
    if not key:
        return _error(401, "Missing API Key")
    sender = fingerprint(key)
    fault = state.take_fault("outx", STATUS_PATH, sender)
    if fault is not None:
        return fault_answer(fault, DIALECT)
    task_id = call.query.get("api_agent_task_id")
    if not task_id:
        return _error(400, "Missing 'api_agent_task_id'")
    task = state.tasks.get(task_id)
    if task is None or task.sender != sender:
        return _error(404, "Task not found")
    return Answer(200, {"success": True, "data": task_view(task, time.time())})


def task_view(task: Task, now: float) -> dict[str, Any]:
    status = task.status_at(now)
    output: dict[str, Any] | None = None
    if status == "completed":
        output = {"sent": task.result == "complete"}
        if task.result == "complete_unsent":
            output["error"] = task.error or "Recipient is not a 1st-degree connection"
    elif status == "failed":
        output = {"sent": False, "error": task.error or "Failed to send message"}
    return {
        "id": task.id,
        "status": status,
        "task_input": {
            "task_type": "agent_send_message",
            "recipient_urn": task.recipient_urn,
            "message": task.text,
        },
        "task_output": output,
    }
