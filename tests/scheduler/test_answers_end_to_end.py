"""The outcome table, row by row, through real worker and scheduler processes against the
sandbox: each row gets its own sender, its answer switched on by a named sandbox fault, and the
delivery must end as the table says, with the sandbox's record of what it really delivered."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from scheduler.producer import enqueue_message
from tests.cluster import Cluster
from tests.scheduler.conftest import MakeCluster
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.due_index import PAUSED_FOREVER
from worker.models import Delivery, Status
from worker.providers.answers import TABLE, Answer
from worker.providers.outx import STATUS_PATH

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Row:
    answer: Answer
    provider: str
    fault: dict[str, Any] | None
    status: Status  # where the delivery ends, or stays (paused accounts keep it queued)
    delivered: int  # how often the sandbox really delivered the message
    pause: str = ""  # "forever", or "breaker": the account's pause at the end
    attempts: int = 1  # send attempts made, at least
    extra: dict[str, Any] = field(default_factory=dict)


ROWS = {
    # ConnectSafely points at a closed port in this cluster: every connection is refused.
    "refused": Row(Answer.NOT_SENT, "connectsafely", None, Status.QUEUED, 0, "breaker", 3),
    "dropped": Row(Answer.NO_ANSWER, "linkup", {"kind": "drop"}, Status.UNKNOWN, 1),
    "gateway": Row(Answer.SERVER_ERROR, "linkup", {"kind": "gateway_html"}, Status.UNKNOWN, 1),
    "redirect": Row(
        Answer.OTHER_STATUS,
        "linkup",
        {"kind": "respond", "status": 303, "body": {}},
        Status.UNKNOWN,
        0,
    ),
    "http429": Row(
        Answer.TOO_MANY_REQUESTS,
        "linkup",
        {"kind": "rate_limit", "retry_after_s": 1},
        Status.SENT,
        1,
        attempts=2,
    ),
    "textok": Row(Answer.NOT_JSON, "linkup", {"kind": "unreadable_success"}, Status.UNKNOWN, 1),
    "plain": Row(Answer.SUCCESS, "linkup", None, Status.SENT, 1),
    "nodata": Row(Answer.SUCCESS, "linkup", {"kind": "no_data"}, Status.SENT, 1),
    "oddok": Row(
        Answer.UNREADABLE_SUCCESS,
        "linkup",
        {"kind": "respond", "status": 200, "body": {"ok": 1}, "deliver": True},
        Status.UNKNOWN,
        1,
    ),
    "badkey": Row(
        Answer.CREDENTIALS,
        "linkup",
        {"kind": "status", "status": 401, "error": "Invalid API key"},
        Status.QUEUED,
        0,
        "forever",
    ),
    "limited": Row(
        Answer.RATE_LIMIT_ERROR,
        "linkup",
        {"kind": "rate_limit", "form": "http_200"},
        Status.SENT,
        1,
        attempts=2,
    ),
    "noplugin": Row(
        Answer.ACCOUNT_ERROR,
        "outx",
        {"kind": "status", "status": 403, "error": "Plugin installation required"},
        Status.QUEUED,
        0,
        "forever",
    ),
    "network": Row(
        Answer.TEMPORARY_ERROR,
        "linkup",
        {"kind": "status", "status": 200, "error": "Network or permission errors"},
        Status.SENT,
        1,
        attempts=2,
    ),
    "badurl": Row(
        Answer.INVALID_MESSAGE,
        "linkup",
        {"kind": "status", "status": 200, "error": "Invalid profile URL format"},
        Status.FAILED,
        0,
    ),
    "novel": Row(Answer.UNRECOGNISED_ERROR, "linkup", {"kind": "unknown_error"}, Status.FAILED, 0),
}


def test_every_row_of_the_outcome_table_has_an_end_to_end_case() -> None:
    assert {row.answer for row in ROWS.values()} == set(TABLE)


def _to(name: str, provider: str) -> str:
    if provider == "outx":
        return f"urn:li:person:ACoAA{name}{0:020d}"
    return f"https://www.linkedin.com/in/{name}-lead"


def _settled(cluster: Cluster, name: str, row: Row, delivery: Delivery) -> bool:
    attempts = cluster.runtime.store.attempts_of(delivery.id) if delivery.id is not None else []
    sends = [a for a in attempts if a.kind == "send"]
    if len(sends) < row.attempts:
        return False
    if row.pause:
        return _pause_kind(cluster, name) == row.pause
    return delivery.status == row.status


def test_each_answer_ends_its_delivery_as_the_table_says(
    make_cluster: MakeCluster, sandbox: SandboxClient, closed_port_url: str
) -> None:
    accounts = {name: row.provider for name, row in ROWS.items()}
    cluster = make_cluster(
        accounts, connectsafely_base_url=closed_port_url, rate_limit_pause_seconds=1.0
    )
    for name, row in ROWS.items():
        if row.fault is not None:
            sender = sender_of(cluster.runtime.accounts[name])
            sandbox.add_fault(sender=sender, **row.fault)
        enqueue_message(cluster.runtime, account=name, to=_to(name, row.provider), text=name)
    cluster.start_workers(1, concurrency=4)
    cluster.start_schedulers(1)

    deadline = time.monotonic() + 60
    pending = dict(ROWS)
    while pending and time.monotonic() < deadline:
        by_account = {d.account: d for d in cluster.deliveries()}
        pending = {
            name: row
            for name, row in pending.items()
            if not _settled(cluster, name, row, by_account[name])
        }
        time.sleep(0.2)
    assert not pending, f"not settled: {sorted(pending)}\n{cluster.tail_logs()}"

    delivered = Counter(m["text"] for m in sandbox.messages())
    wrong = []
    for delivery in cluster.deliveries():
        name = delivery.account
        row = ROWS[name]
        status = delivery.status
        if row.status == Status.QUEUED and status == Status.SENDING:
            status = Status.QUEUED  # held, and being retried at this very moment
        seen = (status, delivered[name], _pause_kind(cluster, name))
        if seen != (row.status, row.delivered, row.pause):
            wrong.append((name, row.answer.value, seen, delivery.error))
    assert wrong == [], wrong


def _pause_kind(cluster: Cluster, name: str) -> str:
    """How the account was paused: by its breaker, until resumed, or not (any more)."""
    if cluster.runtime.due_index.breaker(name).trips:
        return "breaker"
    paused_until = cluster.runtime.due_index.state(name).paused_until
    return "forever" if paused_until is not None and paused_until >= PAUSED_FOREVER else ""


def _accounts_json(cluster: Cluster) -> dict[str, dict[str, Any]]:
    result = cluster.run("accounts", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {row["account"]: row for row in rows}


def _wait(condition: Callable[[], bool], cluster: Cluster, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, cluster.tail_logs()
        time.sleep(0.1)


def test_a_run_of_unrecognised_errors_costs_at_most_the_breaker_count_then_resume_recovers(
    make_cluster: MakeCluster, sandbox: SandboxClient
) -> None:
    cluster = make_cluster({"ann": "linkup"}, breaker_failures=3, rate_limit_pause_seconds=600)
    ann = sender_of(cluster.runtime.accounts["ann"])
    sandbox.add_fault("unknown_error", sender=ann, count=None)
    for i in range(6):
        enqueue_message(cluster.runtime, account="ann", to=_to(f"lead{i}", "linkup"), text=f"m{i}")
    cluster.start_workers(1)
    cluster.start_schedulers(1)

    _wait(lambda: cluster.runtime.due_index.breaker("ann").trips == 1, cluster)

    rows = cluster.deliveries()
    assert Counter(r.status for r in rows) == {Status.FAILED: 2, Status.QUEUED: 4}
    assert len(sandbox.requests()) == 3 and sandbox.messages() == []
    shown = _accounts_json(cluster)["ann"]
    assert shown["pause_reason"].startswith("breaker: 3 sends in a row")

    sandbox.clear_faults()
    resumed = cluster.run("accounts", "resume", "ann")
    assert resumed.returncode == 0, resumed.stderr
    rows = cluster.wait_until_settled(6, timeout_s=30)

    assert Counter(r.status for r in rows) == {Status.SENT: 4, Status.FAILED: 2}
    assert Counter(m["text"] for m in sandbox.messages()) == Counter(
        r.text for r in rows if r.status == Status.SENT
    )


def test_an_operator_pause_holds_every_send_until_resume(
    make_cluster: MakeCluster, sandbox: SandboxClient
) -> None:
    cluster = make_cluster({"ann": "linkup"})
    paused = cluster.run("accounts", "pause", "ann", "--reason", "holiday")
    assert paused.returncode == 0, paused.stderr
    assert "paused until resumed (holiday)" in paused.stdout
    for i in range(2):
        enqueue_message(cluster.runtime, account="ann", to=_to(f"lead{i}", "linkup"), text=f"m{i}")
    cluster.start_workers(1)
    cluster.start_schedulers(1)
    time.sleep(1.5)  # pacing is 0.2-0.4 s: both would have gone by now

    assert sandbox.requests() == []
    shown = _accounts_json(cluster)["ann"]
    assert (shown["paused_forever"], shown["pause_reason"]) == (True, "holiday")

    assert cluster.run("accounts", "resume", "ann").returncode == 0
    rows = cluster.wait_until_settled(2, timeout_s=30)
    assert Counter(r.status for r in rows) == {Status.SENT: 2}


def test_pausing_an_unknown_account_names_the_known_ones(make_cluster: MakeCluster) -> None:
    cluster = make_cluster({"ann": "linkup"})
    result = cluster.run("accounts", "pause", "nobody")
    assert result.returncode != 0
    assert "nobody" in result.stderr and "ann" in result.stderr


def test_outx_tasks_through_unlisted_statuses_and_failed_checks_end_sent(
    make_cluster: MakeCluster, sandbox: SandboxClient
) -> None:
    cluster = make_cluster({"eve": "outx"})
    statuses = ["queued", "processing", "in_progress"]
    sandbox.add_fault("outx_task", provider="outx", statuses=statuses, after_s=1.0, count=None)
    # Status checks that fail in every way: none of them may end a delivery.
    for fault in (
        {"kind": "status", "status": 404, "error": "Task not found"},
        {"kind": "status", "status": 400, "error": "Missing 'api_agent_task_id'"},
        {"kind": "gateway_html", "status": 502, "deliver": False},
        {"kind": "status", "status": 503},
    ):
        sandbox.add_fault(path=STATUS_PATH, **fault)
    for i in range(3):
        enqueue_message(cluster.runtime, account="eve", to=_to(f"e{i}", "outx"), text=f"m{i}")
    cluster.start_workers(1)
    cluster.start_schedulers(1)

    rows = cluster.wait_until_settled(3, timeout_s=60)

    assert Counter(r.status for r in rows) == {Status.SENT: 3}, [(r.status, r.error) for r in rows]
    assert Counter(m["text"] for m in sandbox.messages()) == {"m0": 1, "m1": 1, "m2": 1}
    checks = [
        a for r in rows for a in cluster.runtime.store.attempts_of(r.id or 0) if a.kind == "check"
    ]
    assert {a.outcome for a in checks} >= {"pending", "transient", "sent"}


def test_an_outx_task_ending_in_an_unlisted_word_is_unknown_at_the_deadline(
    make_cluster: MakeCluster, sandbox: SandboxClient
) -> None:
    cluster = make_cluster({"eve": "outx"}, outx_confirm_timeout_seconds=2.0)
    sandbox.add_fault("outx_task", provider="outx", final_status="failed", after_s=0.2)
    enqueue_message(cluster.runtime, account="eve", to=_to("e0", "outx"), text="m0")
    cluster.start_workers(1)
    cluster.start_schedulers(1)

    (row,) = cluster.wait_until_settled(1, timeout_s=30)

    assert row.status == Status.UNKNOWN
    assert row.error is not None and "last answer: status 'failed'" in row.error
