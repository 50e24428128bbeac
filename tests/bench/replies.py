"""Reply benchmarks (print figures, assert nothing): `python -m tests.bench.replies`.

1. Reads per follow-up: a two-step campaign of 200 recipients per provider (LinkUp,
   ConnectSafely), driven on a virtual clock; 10% answer after step 1. Every read the sandbox
   served, per follow-up decided (sent or stopped).
2. The inbox sweep of a 10,000-recipient campaign: step 1 sent to everyone through the LinkUp
   adapter, 1% answer; the first sweep pages through every conversation, the next one (after
   20 more answers) only through what is new. Read spacing is set to zero here, so the figure is
   the sweep's own cost; at the default 5 s spacing a sweep takes pages x 5 s, printed beside
   it. The bare baseline pages the sandbox's inbox endpoint with plain httpx: the sandbox must
   be faster than the sweep for the figure to be the sweep's.

Uses OUTREACH_TEST_REDIS_URL / OUTREACH_TEST_DATABASE_URL when set, embedded otherwise.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from scheduler.campaigns import start_campaign
from tests.bench.services import Services, bench_services
from tests.cluster import Cluster
from tests.scheduler.test_campaigns import VirtualClock, drive
from worker.dev.sandbox.control import sender_of
from worker.inbox_sweep import InboxSweep, watch_inboxes
from worker.logs import configure_logging
from worker.models import Delivery, Status
from worker.providers import build_provider
from worker.providers.base import SendRequest
from worker.providers.linkup import INBOX_PATH
from worker.recipients import parse_recipient

FOLLOW_UP = """name = "bench"
accounts = ["ann"]
[[steps]]
text = "Hi {first_name}."
[[steps]]
after = "3d"
text = "Following up, {first_name}."
"""
ONE_STEP = 'name = "sweep"\naccounts = ["ann"]\n[[steps]]\ntext = "Hi {first_name}."\n'


def _leads(path: Path, count: int) -> Path:
    rows = "".join(f"https://www.linkedin.com/in/lead-{i},P{i}\n" for i in range(count))
    path.write_text("linkedin_url,first_name\n" + rows, encoding="utf-8")
    return path


def _cluster(services: Services, name: str, provider: str, **settings: object) -> Cluster:
    """A runtime (no processes) on the emptied Redis and database, one account `ann`."""
    return Cluster(
        services.work / name,
        redis_url=services.redis_url,
        database_url=services.database_url,
        sandbox_url=services.sandbox_url,
        accounts={"ann": provider},
        **settings,
    )


def bench_reads_per_follow_up(services: Services, people: int = 200) -> None:
    print(f"reads per follow-up ({people} recipients per provider, 10% answer after step 1):")
    sandbox, work = services.sandbox, services.work
    for provider in ("linkup", "connectsafely"):
        sandbox.reset()
        cluster = _cluster(services, provider, provider, daily_limit=10 * people)
        runtime = cluster.runtime
        campaign = work / provider / "c.toml"
        campaign.write_text(FOLLOW_UP, encoding="utf-8")
        clock = VirtualClock(datetime.now(UTC))
        start_campaign(runtime, campaign, _leads(work / provider / "l.csv", people), now=clock.now)
        drive(runtime, clock, until=clock.now + timedelta(days=1))  # every step 1
        sender = sender_of(runtime.accounts["ann"])
        firsts = [r for r in runtime.store.find(campaign="bench") if r.step == 0]
        for row in firsts[::10]:
            assert row.sent_at is not None
            at_ms = int((row.sent_at + timedelta(minutes=1)).timestamp() * 1000)
            sandbox.reply(sender, row.recipient, "Yes", at_ms=at_ms)
        drive(runtime, clock, until=clock.now + timedelta(days=30))
        follow_ups = Counter(
            (d.status.value, d.error) for d in runtime.store.find(campaign="bench") if d.step == 1
        )
        decided = sum(follow_ups.values())
        reads = Counter(r["path"] for r in sandbox.reads())
        total = sum(reads.values())
        print(
            f"  {provider:13} follow-ups sent {follow_ups[('sent', None)]}, stopped"
            f" {follow_ups[('cancelled', 'replied')]}: {total} reads,"
            f" {total / decided:.2f} per follow-up ({dict(reads)})"
        )
        cluster.stop()


def _seed_sent(cluster: Cluster, work: Path, people: int) -> None:
    """Step 1 of a one-step campaign sent to `people` through the LinkUp adapter (the sandbox
    keeps each conversation), then recorded as sent, as a worker would have."""
    runtime = cluster.runtime
    campaign = work / "sweep.toml"
    campaign.write_text(ONE_STEP, encoding="utf-8")
    start_campaign(runtime, campaign, _leads(work / "sweep.csv", people))
    runtime.redis.flushdb()  # nothing is to be released: the sends happen below
    account = runtime.accounts["ann"]
    provider = build_provider("linkup", runtime.http, runtime.settings)
    rows = runtime.store.find(campaign="sweep")

    def send(row: Delivery) -> None:
        provider.send(account, SendRequest(parse_recipient(row.recipient), row.text))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, rows))
    with runtime.store.engine.begin() as connection:
        connection.execute(
            sa.update(Delivery)
            .where(Delivery.campaign == "sweep")  # type: ignore[arg-type]
            .values(status=Status.SENT, sent_at=datetime.now(UTC) - timedelta(minutes=5))
        )


def _sweep(cluster: Cluster) -> tuple[int, float]:
    """One whole sweep of ann's inbox: pages read and seconds taken."""
    runtime = cluster.runtime
    sweep = InboxSweep(runtime)
    watch_inboxes(runtime, datetime.now(UTC))
    before = runtime.due_index.inbox_progress("ann").swept_at
    pages = 0
    started = time.perf_counter()
    while True:
        sweep.read_page("ann")
        pages += 1
        progress = runtime.due_index.inbox_progress("ann")
        if progress.swept_at != before and progress.cursor is None:
            return pages, time.perf_counter() - started


def _bare_pages(sandbox_url: str, cluster: Cluster, pages: int) -> float:
    """Pages per second of the sandbox's LinkUp inbox endpoint, paged with plain httpx."""
    account = cluster.runtime.accounts["ann"]
    assert account.login_token is not None
    body: dict[str, object] = {"login_token": account.login_token.reveal(), "total_results": 20}
    headers = {"x-api-key": account.api_key.reveal()}
    with httpx.Client(base_url=sandbox_url) as client:
        started = time.perf_counter()
        for _ in range(pages):
            answer = client.post(INBOX_PATH, json=body, headers=headers).raise_for_status()
            body["next_cursor"] = answer.json()["data"].get("next_cursor")
        return pages / (time.perf_counter() - started)


def bench_sweep(services: Services, people: int = 10_000) -> None:
    sandbox = services.sandbox
    sandbox.reset()
    cluster = _cluster(services, "sweep", "linkup", read_min_seconds=0)
    started = time.perf_counter()
    _seed_sent(cluster, services.work / "sweep", people)
    print(
        f"inbox sweep, {people} recipients on one LinkUp sender"
        f" (seeded in {time.perf_counter() - started:.0f} s):"
    )
    sender = sender_of(cluster.runtime.accounts["ann"])
    for i in range(0, people, 100):
        sandbox.reply(sender, f"https://www.linkedin.com/in/lead-{i}", "Interested")
    pages, seconds = _sweep(cluster)
    found = len(cluster.runtime.recipients.replies())
    print(
        f"  first sweep: {pages} pages in {seconds:.1f} s ({pages / seconds:.0f} pages/s),"
        f" {found} replies found of {people // 100};"
        f" at the default 5 s read spacing: {pages * 5 / 60:.0f} min"
    )
    for i in range(50, 50 + 20 * 100, 100):
        sandbox.reply(sender, f"https://www.linkedin.com/in/lead-{i}", "Later")
    pages, seconds = _sweep(cluster)
    found = len(cluster.runtime.recipients.replies()) - found
    print(
        f"  next sweep: {pages} pages in {seconds:.2f} s, {found} new replies found of 20;"
        f" at 5 s spacing: {pages * 5} s"
    )
    bare = _bare_pages(services.sandbox_url, cluster, 100)
    print(f"  bare baseline: the sandbox serves {bare:.0f} inbox pages/s to plain httpx")
    cluster.stop()


def main() -> None:
    configure_logging("console", "WARNING")
    with bench_services() as services:
        bench_reads_per_follow_up(services)
        print()
        bench_sweep(services)


if __name__ == "__main__":
    main()
