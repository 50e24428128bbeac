"""Campaigns in-process over real Redis, the database and HTTP to the sandbox, with a virtual
clock that jumps to each next due time: multi-day sequences run in a second."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler import campaign_import
from scheduler.campaigns import add_leads, start_campaign
from scheduler.steering import (
    campaign_report,
    cancel_campaign,
    mark_replied,
    opt_out,
    pause_campaign,
    resume_campaign,
)
from worker import keys
from worker.bulk_deliveries import BulkDeliveries
from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.server import Sandbox
from worker.errors import CampaignInputError, ImportInProgressError
from worker.models import Delivery, Status
from worker.runtime import Runtime
from worker.sending import SendService
from worker.sequences import Sequences

MONDAY_10_PARIS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CAMPAIGN = """
name = "{name}"
accounts = {accounts}
{extra}
[[steps]]
text = "Hi {{first_name}}, about {{company}}."
[[steps]]
after = "3d"
text = "Following up, {{first_name}}."
[[steps]]
after = "7d"
text = "Last note from me."
"""
OFFICE = '[window]\ndays = ["mon", "tue", "wed", "thu", "fri"]\nhours = "09:00-18:00"'


class VirtualClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def drive(runtime: Runtime, clock: VirtualClock, until: datetime) -> None:
    """Release and send everything due, jumping the clock to each next due time."""
    service = SendService(runtime, clock=clock)
    while clock.now <= until:
        moment = clock.now.timestamp()
        for release in runtime.due_index.release(moment):
            service.send(release.delivery_id)
        for delivery_id in runtime.due_index.lease_checks(moment, 100, 60):
            service.check(delivery_id)
        wake = runtime.due_index.next_wake()
        if wake is None:
            return
        clock.now = max(clock.now + timedelta(milliseconds=1), datetime.fromtimestamp(wake, UTC))


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], sandbox_server: Sandbox) -> Runtime:
    url = sandbox_server.url
    return make_runtime(
        {"ann": "linkup", "ben": "linkup", "eve": "outx"},
        {"ann": {"timezone": "Europe/Paris"}, "ben": {"timezone": "Europe/Paris"}},
        linkup_base_url=url,
        outx_base_url=url,
        pace_min_seconds=30,
        pace_max_seconds=60,
    )


def _files(
    tmp_path: Path,
    rows: list[str],
    *,
    name: str = "q4",
    accounts: str = '["ann", "ben"]',
    extra: str = OFFICE,
    column: str = "linkedin_url",
) -> tuple[Path, Path]:
    campaign = tmp_path / f"{name}.toml"
    campaign.write_text(CAMPAIGN.format(name=name, accounts=accounts, extra=extra), "utf-8")
    leads = tmp_path / f"{name}.csv"
    leads.write_text(f"{column},first_name,company\n" + "\n".join(rows) + "\n", "utf-8")
    return campaign, leads


def _people(n: int, prefix: str = "lead") -> list[str]:
    return [f"https://www.linkedin.com/in/{prefix}-{i},Person{i},Acme{i}" for i in range(n)]


def _by_step(runtime: Runtime) -> dict[tuple[str, int], Delivery]:
    return {(d.recipient, d.step): d for d in runtime.store.find(campaign="q4")}


def _sent_at(runtime: Runtime, delivery: Delivery) -> datetime:
    """When we sent it, by the virtual clock (`sent_at` is the provider's own, real, time)."""
    assert delivery.id is not None and delivery.status == Status.SENT
    return runtime.store.attempts_of(delivery.id)[-1].started_at


def test_starting_writes_every_step_and_queues_the_first(runtime: Runtime, tmp_path: Path) -> None:
    plan = start_campaign(runtime, *_files(tmp_path, _people(4)), now=MONDAY_10_PARIS)

    rows = runtime.store.find(campaign="q4")
    assert Counter((r.step, r.status) for r in rows) == {
        (0, Status.QUEUED): 4,
        (1, Status.WAITING): 4,
        (2, Status.WAITING): 4,
    }
    assert plan.per_account == {"ann": 2, "ben": 2}
    assert plan.finish_estimate is not None
    # Each recipient sticks to one account for the whole sequence.
    accounts = {r.recipient: {x.account for x in rows if x.recipient == r.recipient} for r in rows}
    assert all(len(a) == 1 for a in accounts.values())
    assert runtime.due_index.state("ann").queued + runtime.due_index.state("ben").queued == 4


def test_a_dry_run_writes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    plan = start_campaign(runtime, *_files(tmp_path, _people(3)), dry_run=True)
    assert plan.sends == 9
    assert runtime.store.find() == [] and runtime.campaigns.get("q4") is None


def test_a_csv_full_of_mistakes_reports_all_and_writes_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    rows = [
        "https://www.linkedin.com/in/ok,Ok,Acme",
        "https://www.linkedin.com/in/empty,,Acme",
        "https://www.linkedin.com/in/ok,Again,Acme",
        "https://www.linkedin.com/in/long," + "x" * 8000 + ",Acme",
    ]
    campaign, leads = _files(tmp_path, rows)
    with pytest.raises(CampaignInputError) as caught:
        start_campaign(runtime, campaign, leads)
    lines = caught.value.lines
    assert [line.split(":")[1] for line in lines] == [
        " line 3, column first_name",
        " line 4, column linkedin_url",
        " line 5",
    ]
    assert "characters; outreach's own limit for LinkUp" in lines[2]
    assert runtime.store.find() == []


def test_outx_senders_get_only_recipients_they_can_reach(runtime: Runtime, tmp_path: Path) -> None:
    # A member URN is neither a person URN nor a profile URL OutX can resolve.
    members = ["urn:li:member:123456789,Member,Acme"]
    campaign, leads = _files(tmp_path, members, accounts='["eve"]', extra="", column="profile_urn")
    with pytest.raises(CampaignInputError, match="line 2: no account in the pool can send this"):
        start_campaign(runtime, campaign, leads)
    # Profile URLs are resolved to URNs (Fetch Profile) before sending.
    assert start_campaign(
        runtime, *_files(tmp_path, _people(2), accounts='["eve"]', extra="", name="urls")
    ).per_account == {"eve": 2}
    urns = [f"urn:li:person:ACoAAurn000000000000000{i},Urn,Acme" for i in range(3)]
    files = _files(tmp_path, urns, accounts='["eve"]', extra="", column="profile_urn")
    assert start_campaign(runtime, *files).per_account == {"eve": 3}


def test_people_already_contacted_or_opted_out_are_skipped(
    runtime: Runtime, tmp_path: Path
) -> None:
    opt_out(runtime, ["https://www.linkedin.com/in/lead-0"])
    start_campaign(runtime, *_files(tmp_path, _people(2, "old"), name="earlier"))
    plan = start_campaign(runtime, *_files(tmp_path, [*_people(2), *_people(1, "old")]))

    assert plan.skipped == {
        "https://www.linkedin.com/in/lead-0": "opted out",
        "https://www.linkedin.com/in/old-0": "already contacted by outreach",
    }
    statuses = Counter(r.status for r in runtime.store.find(campaign="q4"))
    assert statuses == {Status.SKIPPED: 2, Status.QUEUED: 1, Status.WAITING: 2}


def test_follow_ups_land_on_the_right_day_inside_the_window(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    friday_5pm_paris = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    clock = VirtualClock(friday_5pm_paris)
    start_campaign(runtime, *_files(tmp_path, _people(1)), now=clock.now)

    drive(runtime, clock, until=friday_5pm_paris + timedelta(days=30))

    steps = _by_step(runtime)
    sent = [_sent_at(runtime, steps[("https://www.linkedin.com/in/lead-0", i)]) for i in range(3)]
    assert sent[0] == friday_5pm_paris
    # Friday 17:00 + 3 days is Monday 17:00 Paris: inside the window, so exactly then.
    assert sent[1] == friday_5pm_paris + timedelta(days=3)
    # Monday 17:00 + 7 days is Monday 17:00 again.
    assert sent[2] == sent[1] + timedelta(days=7)
    assert len(sandbox.messages()) == 3


def test_a_follow_up_due_outside_the_window_waits_for_the_opening(
    runtime: Runtime, tmp_path: Path
) -> None:
    thursday_8pm_utc = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)  # 09:30 Paris
    clock = VirtualClock(thursday_8pm_utc)
    campaign, leads = _files(tmp_path, _people(1))
    campaign.write_text(campaign.read_text().replace('after = "3d"', 'after = "2d"'))
    start_campaign(runtime, campaign, leads, now=clock.now)

    drive(runtime, clock, until=thursday_8pm_utc + timedelta(days=5))

    second = _by_step(runtime)[("https://www.linkedin.com/in/lead-0", 1)]
    # Thursday + 2 days is Saturday: it goes Monday at 09:00 Paris (08:00 UTC).
    assert _sent_at(runtime, second) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_replied_and_opted_out_recipients_get_nothing_more(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    clock = VirtualClock(MONDAY_10_PARIS)
    start_campaign(runtime, *_files(tmp_path, _people(3)), now=clock.now)
    drive(runtime, clock, until=MONDAY_10_PARIS + timedelta(hours=1))  # first steps sent
    mark_replied(runtime, ["https://www.linkedin.com/in/lead-0"])
    opt_out(runtime, ["https://www.linkedin.com/in/lead-1"])

    drive(runtime, clock, until=MONDAY_10_PARIS + timedelta(days=30))

    texts = Counter(m["recipient"] for m in sandbox.messages())
    assert texts == {
        "https://www.linkedin.com/in/lead-0": 1,
        "https://www.linkedin.com/in/lead-1": 1,
        "https://www.linkedin.com/in/lead-2": 3,
    }
    steps = _by_step(runtime)
    assert steps[("https://www.linkedin.com/in/lead-0", 1)].error == "replied"
    assert steps[("https://www.linkedin.com/in/lead-1", 2)].error == "opted out"


def test_pause_holds_everything_until_resume(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    clock = VirtualClock(MONDAY_10_PARIS)
    start_campaign(runtime, *_files(tmp_path, _people(2)), now=clock.now)
    pause_campaign(runtime, "q4")

    drive(runtime, clock, until=MONDAY_10_PARIS + timedelta(days=2))
    assert sandbox.messages() == []
    assert campaign_report(runtime, "q4", clock.now).status == "paused"

    assert resume_campaign(runtime, "q4") == 2
    drive(runtime, clock, until=clock.now + timedelta(days=30))
    assert len(sandbox.messages()) == 6


def test_cancel_stops_what_is_not_sent(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    clock = VirtualClock(MONDAY_10_PARIS)
    start_campaign(runtime, *_files(tmp_path, _people(2)), now=clock.now)
    drive(runtime, clock, until=MONDAY_10_PARIS + timedelta(hours=1))

    cancel_campaign(runtime, "q4")
    drive(runtime, clock, until=MONDAY_10_PARIS + timedelta(days=30))

    assert len(sandbox.messages()) == 2
    assert Counter(r.status for r in runtime.store.find(campaign="q4")) == {
        Status.SENT: 2,
        Status.CANCELLED: 4,
    }


def test_a_failed_step_stops_the_sequence(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("status", provider="linkup", status=400, error="Not a connection")
    clock = VirtualClock(MONDAY_10_PARIS)
    start_campaign(runtime, *_files(tmp_path, _people(1)), now=clock.now)

    drive(runtime, clock, until=MONDAY_10_PARIS + timedelta(days=30))

    assert [r.status for r in runtime.store.find(campaign="q4")] == [
        Status.FAILED,
        Status.CANCELLED,
        Status.CANCELLED,
    ]


def test_the_campaign_cap_spreads_sends_over_days(
    runtime: Runtime, tmp_path: Path, sandbox: SandboxClient
) -> None:
    clock = VirtualClock(MONDAY_10_PARIS)
    campaign, leads = _files(tmp_path, _people(6), extra=f"daily_limit = 2\n{OFFICE}")
    start_campaign(runtime, campaign, leads, now=clock.now)

    drive(runtime, clock, until=MONDAY_10_PARIS + timedelta(hours=22))  # before Tuesday 09:00

    firsts = [r for r in runtime.store.find(campaign="q4") if r.step == 0]
    assert Counter(r.status for r in firsts) == {Status.SENT: 4, Status.QUEUED: 2}
    report = campaign_report(runtime, "q4", MONDAY_10_PARIS + timedelta(hours=8))
    assert {line.account: line.sent_today for line in report.accounts} == {"ann": 2, "ben": 2}
    assert report.steps[1] == {"queued": 2, "sent": 4}


def test_every_kind_of_mistake_is_reported_with_its_line(runtime: Runtime, tmp_path: Path) -> None:
    campaign, leads = _files(tmp_path, [], accounts='["eve"]', extra="")
    leads.write_bytes(
        b"profile_urn,first_name,company\n"
        b"urn:li:person:ACoAAfine000000000000000001,Fine,Acme\n"
        b"urn:li:person:ACoAAempty00000000000000001,,Acme\n"  # 3 empty variable
        b"https://www.linkedin.com/in/url-for-outx,Url,Acme\n"  # 4 URL in the URN column
        b"urn:li:person:ACoAAfine000000000000000001,Again,Acme\n"  # 5 duplicate of line 2
        b"urn:li:person:ACoAAlong000000000000000001," + b"x" * 10_000 + b",Acme\n"  # 6 too long
        b"urn:li:person:ACoAAlatin00000000000000001,Jos\xe9,Acme\n"  # 7 not UTF-8
    )
    with pytest.raises(CampaignInputError) as caught:
        start_campaign(runtime, campaign, leads)

    lines = caught.value.lines
    assert [int(line.split("line ")[1].split(",")[0].split(":")[0]) for line in lines] == [
        3,
        4,
        5,
        6,
        7,
    ]
    assert "URN" in lines[1] and "OutX's documented maximum is 10000" in lines[3]
    assert runtime.store.find() == [] and runtime.campaigns.get("q4") is None

    leads.write_text("linkedin_url,first_name\nhttps://www.linkedin.com/in/a,A\n", "utf-8")
    with pytest.raises(
        CampaignInputError, match="line 1: the templates use columns the header lacks: company"
    ):
        start_campaign(runtime, campaign, leads)


def test_steps_a_dying_worker_left_unfinished_are_settled(runtime: Runtime, tmp_path: Path) -> None:
    start_campaign(runtime, *_files(tmp_path, _people(2), extra=""), now=MONDAY_10_PARIS)
    first = {r.recipient: r for r in runtime.store.find(campaign="q4") if r.step == 0}
    sent, failed = first.values()
    # Recorded as ended, then the worker died before carrying that into the sequences.
    runtime.store.move(
        sent.id or 0, [Status.QUEUED], {"status": Status.SENT, "updated_at": MONDAY_10_PARIS}
    )
    runtime.store.move(
        failed.id or 0, [Status.QUEUED], {"status": Status.FAILED, "updated_at": MONDAY_10_PARIS}
    )

    settled = Sequences(runtime).settle_stranded(MONDAY_10_PARIS + timedelta(minutes=5))

    assert settled == 2
    steps = _by_step(runtime)
    follow_up = steps[(sent.recipient, 1)]
    assert follow_up.status == Status.QUEUED
    assert follow_up.due_at == MONDAY_10_PARIS + timedelta(days=3)
    assert [steps[(failed.recipient, i)].status for i in (1, 2)] == [Status.CANCELLED] * 2
    assert Sequences(runtime).settle_stranded(MONDAY_10_PARIS + timedelta(minutes=5)) == 0


ROLL = """
name = "roll"
accounts = ["ann"]
[[steps]]
text = "Hi {first_name}, about {company|your team}."
"""


def test_an_error_after_rows_were_written_rolls_the_whole_import_back(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 3 and writes of 6 rows: the error on line 40 comes after many writes.
    monkeypatch.setattr(campaign_import, "BATCH", 3)
    monkeypatch.setattr(BulkDeliveries, "FLUSH_ROWS", 6)
    rows = [f"https://www.linkedin.com/in/roll-{i},R{i}" for i in range(60)]
    rows[38] = "https://www.linkedin.com/in/roll-x,"  # line 40: an empty first_name
    campaign = tmp_path / "roll.toml"
    campaign.write_text(ROLL, encoding="utf-8")
    leads = tmp_path / "roll.csv"
    leads.write_text(
        "linkedin_url,first_name,company\n" + "\n".join(f"{row},Co" for row in rows) + "\n",
        encoding="utf-8",
    )

    with pytest.raises(CampaignInputError) as refused:
        start_campaign(runtime, Path(campaign), Path(leads))
    assert refused.value.line_numbers == [40]
    assert runtime.campaigns.get("roll") is None and runtime.store.find() == []
    assert runtime.due_index.state("ann").queued == 0

    rows[38] = "https://www.linkedin.com/in/roll-x,X"
    rows[50] = rows[10]  # a duplicate across batches
    Path(leads).write_text(
        "linkedin_url,first_name,company\n" + "\n".join(f"{row},Co" for row in rows) + "\n",
        encoding="utf-8",
    )
    plan = start_campaign(runtime, Path(campaign), Path(leads), skip_invalid=True)
    assert (plan.recipients, plan.duplicates) == (59, 1)
    written = runtime.store.find(campaign="roll")
    assert len(written) == 59 and len({d.id for d in written}) == 59
    # Redis holds exactly the ids the rows were given.
    indexed = {int(m) for m in runtime.redis.zrange(keys.queue("ann"), 0, -1)}  # type: ignore[arg-type]
    assert indexed == {d.id for d in written}


def test_adding_leads_indexes_only_the_rows_it_wrote(runtime: Runtime, tmp_path: Path) -> None:
    # On PostgreSQL COPY gives the ids and the import reads its queued rows back: those its
    # campaign, moment and transaction wrote. The campaign's earlier rows, one in flight, stay
    # as they are: a released delivery queued again would be released twice.
    campaign, leads = _files(tmp_path, _people(4), accounts='["ann"]', extra="")
    start_campaign(runtime, campaign, leads, now=MONDAY_10_PARIS)
    [released] = runtime.due_index.release(MONDAY_10_PARIS.timestamp() + 1, limit=1)
    more = tmp_path / "more.csv"
    more.write_text("linkedin_url,first_name,company\n" + "\n".join(_people(3, "more")) + "\n")

    add_leads(runtime, "q4", more, now=MONDAY_10_PARIS + timedelta(minutes=5))

    queued = {int(m) for m in runtime.redis.zrange(keys.queue("ann"), 0, -1)}  # type: ignore[arg-type]
    rows = runtime.store.find(campaign="q4")
    first_steps = {d.id for d in rows if d.step == 0}
    assert len(first_steps) == 7 and released.delivery_id in first_steps
    assert queued == first_steps - {released.delivery_id}
    assert runtime.due_index.holds("ann", released.delivery_id)


def test_an_import_while_another_runs_is_refused_and_its_retry_skips_whom_the_first_took(
    runtime: Runtime, tmp_path: Path
) -> None:
    # Each import checks who was contacted against what is committed: one running beside
    # another could queue the person they share. The second is refused (PostgreSQL: an
    # advisory lock; SQLite's write lock keeps it out by itself) and, tried again, skips them.
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the write lock keeps the second import out by itself")
    shared = "https://www.linkedin.com/in/shared-1,Sam,Acme"
    first = _files(tmp_path, [shared, _people(1, "a")[0]], name="first", extra="")
    second = _files(tmp_path, [shared, _people(1, "b")[0]], name="second", extra="")
    first_checked, go_on = threading.Event(), threading.Event()

    def hold(_phase: str, _count: int) -> None:  # the first import, mid-transaction
        first_checked.set()
        go_on.wait(30)

    started = threading.Thread(
        target=start_campaign, args=(runtime, *first), kwargs={"progress": hold}
    )
    started.start()
    try:
        assert first_checked.wait(30)
        with pytest.raises(ImportInProgressError, match="another campaign import is running"):
            start_campaign(runtime, *second)
        assert runtime.campaigns.get("second") is None
    finally:
        go_on.set()
        started.join(30)
    assert not started.is_alive()

    plan = start_campaign(runtime, *second)

    assert plan.skipped == {"https://www.linkedin.com/in/shared-1": "already contacted by outreach"}
    queued = {
        (d.campaign, d.recipient)
        for d in runtime.store.find()
        if d.step == 0 and d.status == Status.QUEUED
    }
    assert queued == {
        ("first", "https://www.linkedin.com/in/shared-1"),
        ("first", "https://www.linkedin.com/in/a-0"),
        ("second", "https://www.linkedin.com/in/b-0"),
    }
