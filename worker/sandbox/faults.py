"""Faults the sandbox injects, as rules: which requests they match and what happens instead.

    {"kind": "rate_limit", "provider": "linkup", "form": "http_200", "retry_after_s": 30}
    {"kind": "status", "status": 503, "error": "upstream unavailable", "count": 2}
    {"kind": "slow", "delay_s": 3}            delivered, answered after the client gave up
    {"kind": "drop"}                          delivered, connection closed without an answer
    {"kind": "respond", "status": 200, "body": {...}, "headers": {...}, "deliver": false}
    {"kind": "outx_task", "result": "fail", "after_s": 1, "error": "not a connection"}

Every rule may name `provider`, `path` and `sender` to narrow what it matches, and `count`
(default 1; null for every matching request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal["rate_limit", "status", "slow", "drop", "respond", "outx_task"]
TaskResult = Literal["complete", "fail", "pending", "complete_unsent"]
RateLimitForm = Literal["http_429", "http_200"]

# The one request an `outx_task` rule shapes: creating the task, not checking it.
TASK_CREATING_PATH = "/linkedin-agent/send-message"
# Faults after which the message counts as delivered (the provider did send it).
DELIVERING: frozenset[FaultKind] = frozenset({"slow", "drop", "outx_task"})


@dataclass
class Fault:
    kind: FaultKind
    provider: str | None = None
    path: str | None = None
    sender: str | None = None
    count: int | None = 1
    status: int = 500
    error: str | None = None
    form: RateLimitForm = "http_429"
    retry_after_s: float | None = None
    delay_s: float = 0.0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    deliver: bool = False
    result: TaskResult = "complete"
    after_s: float = 0.0

    @property
    def delivers(self) -> bool:
        return self.kind in DELIVERING or (self.kind == "respond" and self.deliver)

    def matches(self, provider: str, path: str, sender: str) -> bool:
        if self.kind == "outx_task" and path != TASK_CREATING_PATH:
            return False
        return (
            (self.provider is None or self.provider == provider)
            and (self.path is None or self.path == path)
            and (self.sender is None or self.sender == sender)
        )


def parse_fault(document: object) -> Fault:
    """Build a Fault from its JSON form; ValueError names the field at fault."""
    if not isinstance(document, dict):
        raise ValueError("a fault is a JSON object")
    kind = document.get("kind")
    if kind not in get_args(FaultKind):
        raise ValueError(f"kind must be one of {', '.join(get_args(FaultKind))}")
    known = set(Fault.__dataclass_fields__)
    unknown = set(document) - known
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    fault = Fault(**document)
    if fault.result not in get_args(TaskResult):
        raise ValueError(f"result must be one of {', '.join(get_args(TaskResult))}")
    if fault.form not in get_args(RateLimitForm):
        raise ValueError(f"form must be one of {', '.join(get_args(RateLimitForm))}")
    if fault.count is not None and fault.count < 1:
        raise ValueError("count must be 1 or more, or null for every request")
    return fault
