"""Faults the sandbox injects, as rules: which requests they match and what happens instead.

By default the sandbox answers only as the providers' documentation says. Every answer the docs
do not show is one of these kinds, switched on by posting its rule to `/_sandbox/faults`:

rate_limit      the provider's rate-limit answer; nothing delivered. LinkUp `form` "http_429"
                (default) or "http_200" (its documented "Rate limiting from LinkedIn" error)
    {"kind": "rate_limit", "provider": "linkup", "form": "http_200", "retry_after_s": 30}
status          an error of `status` (default 500) in the provider's error shape; nothing delivered
    {"kind": "status", "status": 503, "error": "upstream unavailable", "count": 2}
slow            delivered, answered `delay_s` later (after the client gave up)
    {"kind": "slow", "delay_s": 3}
drop            delivered, connection closed without an answer
    {"kind": "drop"}
respond         exactly this answer; `deliver` (default false) says whether the message went.
                With `content_type`, `body` is a string written as is (not as JSON)
    {"kind": "respond", "status": 200, "body": "<p>hi</p>", "content_type": "text/html",
     "headers": {"X-Trace": "1"}, "deliver": false}
outx_task       how the OutX task made by the next send ends (see below); with `path`
                "/linkedin-agent/fetch-profile", the next profile fetch's task instead
    {"kind": "outx_task", "result": "fail", "after_s": 1, "error": "not a connection",
     "statuses": ["queued", "processing"], "final_status": "done"}
    a profile that is not there: `profile_slug` narrows a fetch-profile rule to that slug
    {"kind": "outx_task", "path": "/linkedin-agent/fetch-profile", "result": "fail",
     "profile_slug": "no-such-person", "count": null}
gateway_html    an HTML error page from a gateway, `status` (default 504), text/html; the message
                is delivered unless `deliver` is false
    {"kind": "gateway_html", "provider": "linkup", "status": 504, "deliver": false}
unknown_error   an error in the provider's own shape, in words no adapter knows (`error`), at the
                provider's usual status (LinkUp 200, ConnectSafely 400, OutX 400) unless `status`
                says; nothing delivered
    {"kind": "unknown_error", "provider": "outx", "error": "Unexpected condition E7731"}
no_data         LinkUp only: delivered, answered with the reference page's success example,
                which has no `data`
    {"kind": "no_data"}
unreadable_success  delivered, answered HTTP 200 with a body that is not JSON (text/plain "OK")
    {"kind": "unreadable_success", "provider": "connectsafely"}
oldest_first    ConnectSafely conversation messages oldest first (the sandbox's default, newest
                first, is a choice: the docs give no order)
    {"kind": "oldest_first", "count": null}
owner_flag_false  ConnectSafely conversation messages all say `isSentByOwner: false`, the account's
                own too (the docs' one example value; the flag is never described)
    {"kind": "owner_flag_false"}
slug_profile_ids  ConnectSafely reads name people by public id (`jane-doe`) in `profileId` and
                `senderProfileId`, as one docs example does, instead of the member id (`ACoAA…`)
    {"kind": "slug_profile_ids", "path": "/linkedin/messaging/recent-messages"}

An `outx_task` task reports `statuses` (default ["pending"]) spread evenly over `after_s`, then
`final_status` (default "completed", the documented word) with `task_output` `{"sent": true}`
for `result` "complete", `{"sent": false}` for "fail" (plus `"error"` when the rule sets one);
"pending" never finishes. A profile fetch's task that a rule fails completes without a profile
(`task_output` `{}`, plus `"error"` when the rule sets one).

Every rule may name `provider`, `path` and `sender` to narrow what it matches (a fetch-profile
rule also `profile_slug`), and `count` (default 1; null for every matching request).

Reads (the four read endpoints) are matched apart from sends, so that a rule written for sends
never surprises a reply check: a rule with no `path` matches sends only, unless it sets
`"reads": true`, when it matches reads only; a rule whose `path` is a read path matches that
read. The ConnectSafely messages path is matched by its template,
`/linkedin/conversations/{conversationUrn}/messages`. On a read, `status`, `rate_limit`,
`respond`, `gateway_html`, `unknown_error` and `unreadable_success` answer in place of the read
(`deliver` means nothing there); `slow` and `drop` serve the read late or not at all; `no_data`
and `outx_task` never match a read. The three read-shaping kinds above change how a read is
served and do not take the one fault slot a request has: a read can be both oldest first and
rate-limited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal[
    "rate_limit",
    "status",
    "slow",
    "drop",
    "respond",
    "outx_task",
    "gateway_html",
    "unknown_error",
    "no_data",
    "unreadable_success",
    "oldest_first",
    "owner_flag_false",
    "slug_profile_ids",
]
TaskResult = Literal["complete", "fail", "pending"]
RateLimitForm = Literal["http_429", "http_200"]

# The one request an `outx_task` rule shapes: creating the task, not checking it; a send's
# unless the rule names the profile fetch's path.
TASK_CREATING_PATH = "/linkedin-agent/send-message"
FETCH_TASK_PATH = "/linkedin-agent/fetch-profile"
# The ConnectSafely read paths (as `connectsafely_reads` serves them), for the kinds that shape
# only those reads.
RECENT_MESSAGES_PATH = "/linkedin/messaging/recent-messages"
CONVERSATION_MESSAGES_PATH = "/linkedin/conversations/{conversationUrn}/messages"
# Kinds that shape a read rather than replace its answer, and the read paths each applies to.
READ_SHAPES: dict[FaultKind, frozenset[str]] = {
    "oldest_first": frozenset({CONVERSATION_MESSAGES_PATH}),
    "owner_flag_false": frozenset({CONVERSATION_MESSAGES_PATH}),
    "slug_profile_ids": frozenset({CONVERSATION_MESSAGES_PATH, RECENT_MESSAGES_PATH}),
}
# Kinds that mean nothing to a read: LinkUp's send answer, the OutX task a send creates.
NEVER_READS: frozenset[FaultKind] = frozenset({"no_data", "outx_task"})
# Faults after which the request has gone through: the message is delivered (the provider did
# send it) or, on an OutX status check, the task is looked up.
DELIVERING: frozenset[FaultKind] = frozenset(
    {"slow", "drop", "outx_task", "no_data", "unreadable_success"}
)
# Faults whose `deliver` field decides, and what it is when the rule does not say.
DELIVER_DEFAULT: dict[FaultKind, bool] = {"respond": False, "gateway_html": True}
# A rule's `status` when it sets none; `unknown_error` has none here, its provider decides.
STATUS_DEFAULT: dict[FaultKind, int] = {"status": 500, "respond": 500, "gateway_html": 504}
# Fields that mean something only to some kinds: set elsewhere, they are a mistake in the test.
ONLY_FOR: dict[str, frozenset[FaultKind]] = {
    "deliver": frozenset(DELIVER_DEFAULT),
    "content_type": frozenset({"respond"}),
    "statuses": frozenset({"outx_task"}),
    "final_status": frozenset({"outx_task"}),
}


@dataclass
class Fault:
    kind: FaultKind
    provider: str | None = None
    path: str | None = None
    sender: str | None = None
    count: int | None = 1
    status: int | None = None
    error: str | None = None
    form: RateLimitForm = "http_429"
    retry_after_s: float | None = None
    delay_s: float = 0.0
    body: Any = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    deliver: bool | None = None
    result: TaskResult = "complete"
    after_s: float = 0.0
    statuses: list[str] | None = None
    final_status: str | None = None
    reads: bool = False
    profile_slug: str | None = None  # a profile fetch's rule: only fetches of this slug

    def __post_init__(self) -> None:
        # Resolved here so that `GET /_sandbox/faults` shows what the rule will do.
        if self.status is None:
            self.status = STATUS_DEFAULT.get(self.kind)
        if self.deliver is None and self.kind in DELIVER_DEFAULT:
            self.deliver = DELIVER_DEFAULT[self.kind]

    @property
    def delivers(self) -> bool:
        return self.kind in DELIVERING or bool(self.kind in DELIVER_DEFAULT and self.deliver)

    def matches(
        self,
        provider: str,
        path: str,
        sender: str,
        *,
        read: bool = False,
        profile_slug: str | None = None,
    ) -> bool:
        if self.kind == "outx_task" and path != (self.path or TASK_CREATING_PATH):
            return False
        if self.kind == "no_data" and provider != "linkup":
            return False
        if self.kind in READ_SHAPES:
            if not read or path not in READ_SHAPES[self.kind]:
                return False
        elif read:
            if self.kind in NEVER_READS or (self.path is None and not self.reads):
                return False
        elif self.reads:
            return False
        return (
            (self.provider is None or self.provider == provider)
            and (self.path is None or self.path == path)
            and (self.sender is None or self.sender == sender)
            and (self.profile_slug is None or self.profile_slug == profile_slug)
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
    for name, kinds in ONLY_FOR.items():
        if document.get(name) is not None and kind not in kinds:
            raise ValueError(f"{name} applies only to {', '.join(sorted(kinds))}")
    fault = Fault(**document)
    _check(fault)
    return fault


def _check(fault: Fault) -> None:
    if fault.result not in get_args(TaskResult):
        raise ValueError(f"result must be one of {', '.join(get_args(TaskResult))}")
    if fault.form not in get_args(RateLimitForm):
        raise ValueError(f"form must be one of {', '.join(get_args(RateLimitForm))}")
    if fault.count is not None and fault.count < 1:
        raise ValueError("count must be 1 or more, or null for every request")
    if fault.status is not None and (
        not isinstance(fault.status, int) or not 100 <= fault.status <= 599
    ):
        raise ValueError("status must be an HTTP status, 100 to 599")
    if fault.kind == "outx_task" and fault.path not in (None, TASK_CREATING_PATH, FETCH_TASK_PATH):
        raise ValueError(f"outx_task shapes {TASK_CREATING_PATH} or {FETCH_TASK_PATH} tasks")
    if fault.kind == "no_data" and fault.provider not in (None, "linkup"):
        raise ValueError("no_data is LinkUp's alone: its reference page's success example")
    _check_reads(fault)
    if fault.content_type is not None and not isinstance(fault.body, str):
        raise ValueError("with content_type, body must be the text to send as is")
    if fault.statuses is not None and (
        not isinstance(fault.statuses, list)
        or not fault.statuses
        or not all(isinstance(s, str) and s for s in fault.statuses)
    ):
        raise ValueError("statuses must be a non-empty list of status words")
    if fault.final_status is not None and (
        not isinstance(fault.final_status, str) or not fault.final_status
    ):
        raise ValueError("final_status must be a status word")


def _check_reads(fault: Fault) -> None:
    if not isinstance(fault.reads, bool):
        raise ValueError("reads must be true or false")
    if fault.reads and fault.path is not None:
        raise ValueError("reads is for a rule with no path: a read path already names a read")
    if fault.reads and fault.kind in NEVER_READS:
        raise ValueError(f"{fault.kind} never applies to a read")
    shaped = READ_SHAPES.get(fault.kind)
    if shaped is None:
        return
    if fault.provider not in (None, "connectsafely"):
        raise ValueError(f"{fault.kind} shapes ConnectSafely's reads alone")
    if fault.path is not None and fault.path not in shaped:
        raise ValueError(f"{fault.kind} applies only to {', '.join(sorted(shaped))}")
