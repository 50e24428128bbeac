"""Replies close the loop, over real Redis, the database and HTTP to the sandbox: a recipient
who answers gets no follow-up, a read that proves nothing never lets one go blind, and the
inbox sweep records answers to the last step. A virtual clock that starts at the real time
(the sandbox stamps messages with it) jumps to each next due time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.campaigns import start_campaign
from scheduler.steering import campaign_report, mark_replied, unmark_replied
from tests.scheduler.test_campaigns import VirtualClock, drive
from worker import keys
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.dev.sandbox.server import Sandbox
from worker.inbox_sweep import InboxSweep, watch_inboxes
from worker.models import ReplyHow, Status
from worker.providers import build_provider
from worker.providers.base import SendRequest
from worker.providers.connectsafely import RECENT_PATH
from worker.providers.outcomes import Sent
from worker.recipients import parse_recipient
from worker.runtime import Runtime

CAMPAIGN = """
name = "q4"
accounts = ["ann"]
{extra}
[[steps]]
text = "Hi {{first_name}}."
[[steps]]
after = "1d"
text = "Following up, {{first_name}}."
"""
READ_PATHS = {
    "linkup": "/v1/messages/conversation",
    "connectsafely": "/linkedin/conversations/{conversationUrn}/messages",
}


def lead(i: int) -> str:
    return f"https://www.linkedin.com/in/lead-{i}"


@pytest.fixture(params=["linkup", "connectsafely"])
def runtime(
    request: pytest.FixtureRequest, make_runtime: Callable[..., Runtime], sandbox_server: Sandbox
) -> Runtime:
    url = sandbox_server.url
    return make_runtime(
        {"ann": request.param},
        linkup_base_url=url,
        connectsafely_base_url=url,
        pace_min_seconds=0,
        pace_max_seconds=0,
        read_min_seconds=0,
        reply_check_retry_seconds=600,
    )


def start(runtime: Runtime, tmp_path: Path, people: int, extra: str = "") -> VirtualClock:
    campaign = tmp_path / "q4.toml"
    campaign.write_text(CAMPAIGN.format(extra=extra), "utf-8")
    leads = tmp_path / "q4.csv"
    rows = "\n".join(f"{lead(i)},Person{i}" for i in range(people))
    leads.write_text(f"linkedin_url,first_name\n{rows}\n", "utf-8")
    clock = VirtualClock(datetime.now(UTC))
    start_campaign(runtime, campaign, leads, now=clock.now)
    drive(runtime, clock, until=clock.now + timedelta(minutes=1))  # the first steps
    return clock


def answer(
    runtime: Runtime,
    sandbox: SandboxClient,
    i: int,
    text: str = "Yes, let's talk",
    at: datetime | None = None,
) -> None:
    """Lead `i` answers, now or `at` (the virtual clock runs ahead of the sandbox's)."""
    at_ms = None if at is None else int(at.timestamp() * 1000)
    sandbox.reply(sender_of(runtime.accounts["ann"]), lead(i), text, at_ms=at_ms)


def sent_to(sandbox: SandboxClient) -> Counter[str]:
    return Counter(m["recipient"].rstrip("/").rsplit("/", 1)[-1] for m in sandbox.messages())


def steps(runtime: Runtime) -> dict[tuple[str, int], tuple[Status, str | None]]:
    return {(d.recipient, d.step): (d.status, d.error) for d in runtime.store.find(campaign="q4")}


def test_a_reply_after_step_one_stops_that_follow_up_only(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    clock = start(runtime, tmp_path, people=3)
    answer(runtime, sandbox, 0)

    drive(runtime, clock, until=clock.now + timedelta(days=2))

    assert sent_to(sandbox) == {"lead-0": 1, "lead-1": 2, "lead-2": 2}
    assert steps(runtime)[(lead(0), 1)] == (Status.CANCELLED, "replied")
    assert steps(runtime)[(lead(1), 1)][0] == Status.SENT
    [reply] = runtime.recipients.replies(campaign="q4")
    assert (reply.recipient, reply.account, reply.step) == (lead(0), "ann", 0)
    assert (reply.text, reply.how) == ("Yes, let's talk", ReplyHow.FOLLOW_UP_CHECK)
    report = campaign_report(runtime, "q4")
    assert (report.replies[0].sent, report.replies[0].replied) == (3, 1)
    assert report.replied == 1 and report.accounts[0].replied == 1


@pytest.mark.parametrize("on_unreadable", ["hold", "send"])
def test_a_failing_read_holds_the_follow_up_and_never_sends_it_blind(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient, on_unreadable: str
) -> None:
    provider = runtime.accounts["ann"].provider
    path = READ_PATHS[provider]
    started = datetime.now(UTC)
    clock = start(runtime, tmp_path, people=1, extra=f'on_unreadable = "{on_unreadable}"')
    sandbox.add_fault("status", provider=provider, path=path, status=500, count=None)
    follow_up = (lead(0), 1)

    drive(runtime, clock, until=started + timedelta(hours=36))  # due after 1 day; reads fail
    assert steps(runtime)[follow_up][0] == Status.QUEUED
    assert sent_to(sandbox) == {"lead-0": 1}

    drive(runtime, clock, until=started + timedelta(days=2, hours=2))  # past the longest wait
    if on_unreadable == "hold":
        status, error = steps(runtime)[follow_up]
        assert status == Status.QUEUED and error is not None and error.startswith("held:")
        assert sent_to(sandbox) == {"lead-0": 1}
    else:
        assert steps(runtime)[follow_up][0] == Status.SENT
        assert sent_to(sandbox) == {"lead-0": 2}


def test_the_sweep_records_a_reply_to_the_last_step(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    clock = start(runtime, tmp_path, people=3)
    drive(runtime, clock, until=clock.now + timedelta(days=2))  # every step sent
    answer(runtime, sandbox, 2, "Thanks, not now", at=clock.now)

    assert watch_inboxes(runtime, clock.now) == 1
    sweep = InboxSweep(runtime, clock)
    for _ in range(5):
        sweep.read_page("ann")
        clock.now += timedelta(seconds=1)

    [reply] = runtime.recipients.replies()
    assert (reply.recipient, reply.step, reply.how) == (lead(2), 1, ReplyHow.INBOX)
    assert reply.text == "Thanks, not now"
    progress = runtime.due_index.inbox_progress("ann")
    assert progress.cursor is None and progress.swept_at is not None


def test_manual_marks_are_scoped_and_can_be_undone(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    clock = start(runtime, tmp_path, people=2)
    assert mark_replied(runtime, [lead(0)], campaign="q4") == 1
    [reply] = runtime.recipients.replies()
    assert (reply.how, reply.step, reply.account) == (ReplyHow.MANUAL, 0, "ann")
    assert runtime.recipients.flags([lead(0)]) == {}  # only this campaign's sequence stopped

    assert unmark_replied(runtime, [lead(0)], campaign="q4") == 1
    assert runtime.recipients.replies() == []
    drive(runtime, clock, until=clock.now + timedelta(days=2))
    assert sent_to(sandbox) == {"lead-0": 2, "lead-1": 2}


def test_a_conversation_deep_in_a_busy_inbox_is_found_page_by_page(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    """ConnectSafely's send answers carry no conversation URN: the check looks for it in the
    inbox, 100 conversations a read, from the newest back to our step."""
    account = runtime.accounts["ann"]
    if account.provider != "connectsafely":
        pytest.skip("LinkUp reads a conversation by profile URL")
    clock = start(runtime, tmp_path, people=2)
    provider = build_provider("connectsafely", runtime.http, runtime.settings)
    for i in range(150):  # newer conversations push ours to the inbox's second page
        other = parse_recipient(f"https://www.linkedin.com/in/other-{i}")
        assert isinstance(provider.send(account, SendRequest(other, "Hello")), Sent)

    drive(runtime, clock, until=clock.now + timedelta(days=2))

    assert sent_to(sandbox)["lead-0"] == sent_to(sandbox)["lead-1"] == 2
    inbox_reads = [r for r in sandbox.reads() if r["path"] == RECENT_PATH]
    assert len(inbox_reads) == 4  # two pages for each follow-up
    assert runtime.redis.hlen(keys.locating("ann")) == 0  # no search left half done
