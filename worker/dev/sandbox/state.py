"""What the sandbox remembers: every send and read request, every delivered message, each
sender's conversations, OutX tasks (sends and profile fetches), faults, and the pacing
violations it saw. Thread-safe; the server's handler threads share one instance.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from worker.dev.sandbox import people
from worker.dev.sandbox.conversations import Conversations
from worker.dev.sandbox.faults import READ_SHAPES, Fault, FaultKind, TaskResult


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
    """An OutX task: what it was asked, and how and when it ends.

    Documented: `pending` until it is done, then `completed` with `task_output` (null before):
    a send's `{"sent": …}`, a profile fetch's profile with its `profile_urn`. The other words a
    task may pass through or end on come from a fault rule.
    """

    id: str
    sender: str
    message_id: str | None  # a send's message; None for a profile fetch
    recipient_urn: str
    text: str
    created_at: float
    profile_slug: str | None = None  # a profile fetch's slug; None for a send
    result: TaskResult = "complete"
    after_s: float = 0.0
    error: str | None = None
    statuses: tuple[str, ...] = ("pending",)
    final_status: str = "completed"

    def finished(self, now: float) -> bool:
        return self.result != "pending" and now - self.created_at >= self.after_s

    def status_at(self, now: float) -> str:
        if self.finished(now):
            return self.final_status
        if self.after_s <= 0:  # a task that never finishes, with no time to spread words over
            return self.statuses[-1]
        elapsed = max(0.0, now - self.created_at)
        step = int(elapsed / self.after_s * len(self.statuses))
        return self.statuses[min(step, len(self.statuses) - 1)]

    def output_at(self, now: float) -> dict[str, Any] | None:
        if not self.finished(now):
            return None
        if self.profile_slug is not None:
            return self._profile_output()
        output: dict[str, Any] = {"sent": self.result == "complete"}
        if self.error is not None:  # the docs never show one: only a rule that asks adds it
            output["error"] = self.error
        return output

    def _profile_output(self) -> dict[str, Any]:
        """A fetch's profile, in the fields the Fetch Profile page lists. Everyone exists; a
        task that an `outx_task` rule fails (a profile that is not there, for one) completes
        without a profile: how OutX answers then is not documented, so it says no more."""
        assert self.profile_slug is not None
        person = people.recipient(self.profile_slug)
        output: dict[str, Any] = {}
        if self.result == "complete":
            output = people.profile(person)
        if self.error is not None:  # the docs never show one: only a rule that asks adds it
            output["error"] = self.error
        return output

    def message_status_at(self, now: float) -> str:
        """What `/_sandbox/messages` says of the task's message: pending, sent or failed."""
        if not self.finished(now):
            return "pending"
        return "sent" if self.result == "complete" else "failed"


@dataclass
class Config:
    min_gap_s: float = 0.0  # a sender's send requests closer than this are violations
    outx_complete_after_s: float = 0.0  # how long an OutX task takes when no fault says
    read_min_gap_s: float = 0.0  # a sender's read requests closer than this are violations


@dataclass
class SandboxState:
    config: Config = field(default_factory=Config)
    initial_config: Config = field(default_factory=Config)
    requests: list[dict[str, Any]] = field(default_factory=list)
    reads: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    fetches: list[dict[str, Any]] = field(default_factory=list)  # OutX Fetch Profile tasks
    violations: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    conversations: Conversations = field(default_factory=Conversations)
    last_send_at: dict[str, float] = field(default_factory=dict)
    last_read_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note_send_request(self, provider: str, path: str, sender: str) -> None:
        """Log a send request and check it against the sender's minimum gap."""
        self._note("send", provider, path, sender)

    def note_read_request(self, provider: str, path: str, sender: str) -> None:
        """Log a read request and check it against the sender's minimum gap between reads
        (sends do not count: reads are paced on their own)."""
        self._note("read", provider, path, sender)

    def _note(self, kind: Literal["send", "read"], provider: str, path: str, sender: str) -> None:
        now = time.time()
        with self.lock:
            if kind == "send":
                log, last_at, min_gap_s = self.requests, self.last_send_at, self.config.min_gap_s
            else:
                log, last_at, min_gap_s = self.reads, self.last_read_at, self.config.read_min_gap_s
            previous = last_at.get(sender)
            last_at[sender] = now
            gap_s = None if previous is None else now - previous
            log.append(
                {"provider": provider, "path": path, "sender": sender, "at": now, "gap_s": gap_s}
            )
            if gap_s is not None and gap_s < min_gap_s:
                self.violations.append(
                    {
                        "kind": kind,
                        "sender": sender,
                        "gap_s": gap_s,
                        "min_gap_s": min_gap_s,
                        "at": now,
                    }
                )

    def take_fault(
        self,
        provider: str,
        path: str,
        sender: str,
        *,
        read: bool = False,
        profile_slug: str | None = None,
    ) -> Fault | None:
        """The first rule matching this request, used up by one when it has a count. Rules
        that only shape a read are left to `take_read_shapes`."""
        with self.lock:
            for fault in self.faults:
                if fault.kind not in READ_SHAPES and fault.matches(
                    provider, path, sender, read=read, profile_slug=profile_slug
                ):
                    self._use(fault)
                    return fault
        return None

    def take_read_shapes(self, provider: str, path: str, sender: str) -> frozenset[FaultKind]:
        """Every read-shaping rule matching this read, each used up by one."""
        with self.lock:
            shaping = [
                f
                for f in self.faults
                if f.kind in READ_SHAPES and f.matches(provider, path, sender, read=True)
            ]
            for fault in shaping:
                self._use(fault)
        return frozenset(f.kind for f in shaping)

    def _use(self, fault: Fault) -> None:
        if fault.count is not None:
            fault.count -= 1
            if fault.count == 0:
                self.faults.remove(fault)

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
            task.statuses = tuple(fault.statuses or task.statuses)
            task.final_status = fault.final_status or task.final_status
        message.task_id = task.id
        message.status = "pending"
        with self.lock:
            self.tasks[task.id] = task
        return task

    def create_fetch_task(self, sender: str, slug: str, fault: Fault | None) -> Task:
        """An OutX Fetch Profile task for `slug`, recorded in `fetches`."""
        now = time.time()
        task = Task(
            id=str(uuid.uuid4()),
            sender=sender,
            message_id=None,
            recipient_urn="",
            text="",
            created_at=now,
            profile_slug=slug,
            after_s=self.config.outx_complete_after_s,
        )
        if fault is not None and fault.kind == "outx_task":
            task.result, task.after_s, task.error = fault.result, fault.after_s, fault.error
            task.statuses = tuple(fault.statuses or task.statuses)
            task.final_status = fault.final_status or task.final_status
        with self.lock:
            self.tasks[task.id] = task
            self.fetches.append(
                {"sender": sender, "profile_slug": slug, "task_id": task.id, "at": now}
            )
        return task

    def message_list(self) -> list[dict[str, Any]]:
        now = time.time()
        with self.lock:
            for message in self.messages:
                if message.task_id is not None and message.task_id in self.tasks:
                    message.status = self.tasks[message.task_id].message_status_at(now)
            return [asdict(m) for m in self.messages]

    def reset(self) -> None:
        with self.lock:
            self.config = Config(**asdict(self.initial_config))
            self.requests.clear()
            self.reads.clear()
            self.messages.clear()
            self.fetches.clear()
            self.violations.clear()
            self.tasks.clear()
            self.faults.clear()
            self.last_send_at.clear()
            self.last_read_at.clear()
        self.conversations.clear()
