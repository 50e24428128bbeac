"""What the sandbox remembers: every send request, every delivered message, OutX tasks, faults,
and the pacing violations it saw. Thread-safe; the server's handler threads share one instance.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from worker.sandbox.faults import Fault


def fingerprint(secret: str) -> str:
    """How the sandbox names a sender without ever showing its key or token."""
    return "k_" + hashlib.sha256(secret.encode()).hexdigest()[:12]


@dataclass
class Message:
    id: str
    provider: str
    path: str
    sender: str
    recipient: str
    text: str
    received_at: float
    subject: str | None = None
    message_type: str | None = None
    conversation_urn: str | None = None
    media: str | None = None
    task_id: str | None = None
    status: str = "sent"  # OutX: pending until its task resolves, then sent or failed


@dataclass
class Task:
    """An OutX task: what it was asked, and how and when it ends."""

    id: str
    sender: str
    message_id: str
    recipient_urn: str
    text: str
    created_at: float
    result: str = "complete"
    after_s: float = 0.0
    error: str | None = None

    def status_at(self, now: float) -> str:
        elapsed = now - self.created_at
        if self.result == "pending" or elapsed < self.after_s / 2:
            return "pending"
        if elapsed < self.after_s:
            return "processing"
        return "failed" if self.result == "fail" else "completed"


@dataclass
class Config:
    min_gap_s: float = 0.0  # a sender's send requests closer than this are violations
    outx_complete_after_s: float = 0.0  # how long an OutX task takes when no fault says


@dataclass
class SandboxState:
    config: Config = field(default_factory=Config)
    initial_config: Config = field(default_factory=Config)
    requests: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    last_send_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note_send_request(self, provider: str, path: str, sender: str) -> None:
        """Log a send request and check it against the sender's minimum gap."""
        now = time.time()
        with self.lock:
            previous = self.last_send_at.get(sender)
            self.last_send_at[sender] = now
            gap_s = None if previous is None else now - previous
            self.requests.append(
                {"provider": provider, "path": path, "sender": sender, "at": now, "gap_s": gap_s}
            )
            if gap_s is not None and gap_s < self.config.min_gap_s:
                self.violations.append(
                    {
                        "sender": sender,
                        "gap_s": gap_s,
                        "min_gap_s": self.config.min_gap_s,
                        "at": now,
                    }
                )

    def take_fault(self, provider: str, path: str, sender: str) -> Fault | None:
        """The first rule matching this request, used up by one when it has a count."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(provider, path, sender):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def deliver(self, **fields: Any) -> Message:
        message = Message(id=str(uuid.uuid4()), received_at=time.time(), **fields)
        with self.lock:
            self.messages.append(message)
        return message

    def create_task(self, message: Message, fault: Fault | None) -> Task:
        task = Task(
            id=str(uuid.uuid4()),
            sender=message.sender,
            message_id=message.id,
            recipient_urn=message.recipient,
            text=message.text,
            created_at=message.received_at,
            after_s=self.config.outx_complete_after_s,
        )
        if fault is not None and fault.kind == "outx_task":
            task.result, task.after_s, task.error = fault.result, fault.after_s, fault.error
        message.task_id = task.id
        message.status = "pending"
        with self.lock:
            self.tasks[task.id] = task
        return task

    def message_list(self) -> list[dict[str, Any]]:
        now = time.time()
        with self.lock:
            for message in self.messages:
                if message.task_id is not None:
                    message.status = _message_status(self.tasks[message.task_id], now)
            return [asdict(m) for m in self.messages]

    def reset(self) -> None:
        with self.lock:
            self.config = Config(**asdict(self.initial_config))
            self.requests.clear()
            self.messages.clear()
            self.violations.clear()
            self.tasks.clear()
            self.faults.clear()
            self.last_send_at.clear()


def _message_status(task: Task, now: float) -> str:
    status = task.status_at(now)
    if status != "completed":
        return "failed" if status == "failed" else "pending"
    return "sent" if task.result == "complete" else "failed"
