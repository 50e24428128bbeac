"""Replies stop follow-ups in a real deployment: worker and scheduler processes, real Redis and
HTTP to the sandbox. One LinkUp and one ConnectSafely sender; a recipient of each answers after
step 1; the sandbox counts every read and flags any two of a sender closer than the spacing."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.campaigns import start_campaign
from tests.cluster import Cluster
from tests.scheduler.conftest import MakeCluster
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.models import Delivery, ReplyHow, Status

pytestmark = pytest.mark.slow  # worker and scheduler processes
ACCOUNTS = {"ann": "linkup", "dan": "connectsafely"}
FOLLOW_UP_S = 3
READ_MIN_S = 0.5
LEADS = 8


def _start(cluster: Cluster, tmp_path: Path) -> None:
    campaign = tmp_path / "q4.toml"
    campaign.write_text(
        'name = "q4"\naccounts = ["ann", "dan"]\n'
        '[[steps]]\ntext = "Hi {first_name}."\n'
        f'[[steps]]\nafter = "{FOLLOW_UP_S}s"\ntext = "Following up, {{first_name}}."\n',
        encoding="utf-8",
    )
    leads = tmp_path / "q4.csv"
    leads.write_text(
        "linkedin_url,first_name\n"
        + "".join(f"https://www.linkedin.com/in/lead-{i},P{i}\n" for i in range(LEADS)),
        encoding="utf-8",
    )
    start_campaign(cluster.runtime, campaign, leads)


def _answer_once_step_one_is_sent(
    cluster: Cluster, sandbox: SandboxClient, timeout_s: float = 30
) -> set[str]:
    """As soon as each account's first step-1 message is sent, its recipient answers: well
    before the follow-up is due. The recipients who answered."""
    answered: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while len(answered) < len(ACCOUNTS):
        assert time.monotonic() < deadline, cluster.tail_logs()
        for row in cluster.deliveries():
            if row.step == 0 and row.status == Status.SENT and row.account not in answered:
                account = cluster.runtime.accounts[row.account]
                sandbox.reply(sender_of(account), row.recipient, f"Yes, let's talk ({row.account})")
                answered[row.account] = row.recipient
        time.sleep(0.05)
    return set(answered.values())


def test_a_recipient_who_answers_gets_no_follow_up_and_reads_stay_spaced(
    make_cluster: MakeCluster, sandbox: SandboxClient, tmp_path: Path
) -> None:
    cluster = make_cluster(ACCOUNTS, read_min_seconds=READ_MIN_S, inbox_poll_seconds=1.0)
    sandbox.configure(min_gap_s=0.2, read_min_gap_s=READ_MIN_S)
    _start(cluster, tmp_path)
    cluster.start_workers(2)
    cluster.start_schedulers(1)

    repliers = _answer_once_step_one_is_sent(cluster, sandbox)
    rows = cluster.wait_until_settled(2 * LEADS, timeout_s=90)

    by_step = {(r.recipient, r.step): r for r in rows}
    for recipient in {r.recipient for r in rows}:
        first, follow_up = by_step[(recipient, 0)], by_step[(recipient, 1)]
        assert first.status == Status.SENT
        if recipient in repliers:
            assert (follow_up.status, follow_up.error) == (Status.CANCELLED, "replied")
        else:
            assert follow_up.status == Status.SENT, follow_up
            assert _gap(first, follow_up) >= timedelta(seconds=FOLLOW_UP_S)
    delivered = Counter(_slug(m["recipient"]) for m in sandbox.messages())  # as each API names them
    assert sorted(delivered.values()) == [1, 1] + [2] * (LEADS - 2)
    assert all(delivered[_slug(r)] == 1 for r in repliers)

    reads = sandbox.reads()
    follow_ups_checked = LEADS  # every follow-up was read for, answered or not
    assert len(reads) >= follow_ups_checked
    assert {r["provider"] for r in reads} == {"linkup", "connectsafely"}
    assert sandbox.violations() == []  # no two sends, and no two reads, of a sender too close

    listed = cluster.run("replies", "--campaign", "q4", "--json")
    assert listed.returncode == 0, listed.stderr
    replies = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["recipient"] for r in replies} == repliers
    status = cluster.run("campaign", "status", "q4", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["replied"] == 2


def _gap(first: Delivery, follow_up: Delivery) -> timedelta:
    assert first.sent_at is not None and follow_up.sent_at is not None
    return follow_up.sent_at - first.sent_at


def _slug(recipient: str) -> str:
    return recipient.rstrip("/").rsplit("/", 1)[-1]


def test_a_failing_read_holds_the_follow_up_and_the_sweep_finds_a_late_reply(
    make_cluster: MakeCluster, sandbox: SandboxClient, tmp_path: Path
) -> None:
    """ann's conversation reads fail: her follow-ups wait, never sent blind, until reads work
    again. dan's go; then one of his recipients answers the last step, and only the inbox
    sweep can see that."""
    cluster = make_cluster(
        ACCOUNTS, read_min_seconds=0.2, inbox_poll_seconds=1.0, reply_check_retry_seconds=0.5
    )
    sandbox.add_fault(
        "status", provider="linkup", path="/v1/messages/conversation", status=500, count=None
    )
    _start(cluster, tmp_path)
    cluster.start_workers(2)
    cluster.start_schedulers(1)

    deadline = time.monotonic() + 60
    while sum(r.account == "dan" and r.status == Status.SENT for r in cluster.deliveries()) < LEADS:
        assert time.monotonic() < deadline, cluster.tail_logs()
        time.sleep(0.1)
    time.sleep(FOLLOW_UP_S)  # ann's follow-ups were due before dan's all went
    ann = [r for r in cluster.deliveries() if r.account == "ann"]
    assert {(r.step, r.status) for r in ann} == {(0, Status.SENT), (1, Status.QUEUED)}
    assert all((r.error or "").startswith("reply check failed") for r in ann if r.step == 1)
    assert sum(m["provider"] == "linkup" for m in sandbox.messages()) == LEADS // 2

    last = next(r for r in cluster.deliveries() if r.account == "dan" and r.step == 1)
    sandbox.reply(sender_of(cluster.runtime.accounts["dan"]), last.recipient, "Thanks, later")
    deadline = time.monotonic() + 30
    while not (replies := cluster.runtime.recipients.replies()):
        assert time.monotonic() < deadline, cluster.tail_logs()
        time.sleep(0.1)
    [reply] = replies
    assert (reply.recipient, reply.step, reply.how) == (last.recipient, 1, ReplyHow.INBOX)

    sandbox.clear_faults()  # reads work again: ann's follow-ups go
    rows = cluster.wait_until_settled(2 * LEADS, timeout_s=60)
    assert Counter(r.status for r in rows) == {Status.SENT: 2 * LEADS}
    assert sandbox.violations() == []
