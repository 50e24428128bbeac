"""Enqueue benchmark (prints figures, asserts nothing): a 100,000-recipient, three-step
campaign from CSV, on SQLite and on PostgreSQL (when OUTREACH_TEST_DATABASE_URL names one),
beside a plain bulk insert of the same rows in the same run, with each run's peak memory.

    python -m tests.bench.enqueue [RECIPIENTS]

Each measurement runs in a fresh process, so its peak resident memory is its own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from tests.databases import migrate
from tests.fakes import account_secrets, accounts_toml
from worker.dev.embedded import EmbeddedRedis
from worker.models import Delivery
from worker.runtime import Runtime
from worker.settings import Settings

ACCOUNTS = {f"s{i:02d}": "linkup" for i in range(50)}
CAMPAIGN = """name = "bench"
accounts = [{accounts}]
[[steps]]
text = "Hi {{first_name}}, I saw your work at {{company}}."
[[steps]]
after = "3d"
text = "Following up, {{first_name}}."
[[steps]]
after = "7d"
text = "Last note from me."
"""


def _files(work: Path, recipients: int) -> tuple[Path, Path, Path]:
    campaign = work / "campaign.toml"
    campaign.write_text(CAMPAIGN.format(accounts=", ".join(f'"{a}"' for a in ACCOUNTS)), "utf-8")
    leads = work / "leads.csv"
    with leads.open("w", encoding="utf-8") as out:
        out.write("linkedin_url,first_name,company\n")
        for i in range(recipients):
            out.write(f"https://www.linkedin.com/in/bench-person-{i},Person{i},Company {i % 977}\n")
    accounts = work / "accounts.toml"
    accounts.write_text(accounts_toml(ACCOUNTS), "utf-8")
    return campaign, leads, accounts


def _runtime(work: Path, database_url: str, redis_url: str) -> Runtime:
    os.environ.update(account_secrets(ACCOUNTS))
    migrate(database_url)
    runtime = Runtime(
        Settings(
            redis_url=redis_url, database_url=database_url, accounts_file=work / "accounts.toml"
        )
    )
    runtime.redis.flushdb()
    runtime.store.drop_schema()
    runtime.store.create_schema()
    return runtime


def measure(mode: str, work: Path, database_url: str, redis_url: str) -> dict[str, float]:
    """One measurement, in this process: `campaign` or `bulk`."""
    from scheduler.campaigns import start_campaign  # noqa: PLC0415 - after env is set

    runtime = _runtime(work, database_url, redis_url)
    campaign, leads = work / "campaign.toml", work / "leads.csv"
    if mode == "campaign":
        started = time.perf_counter()
        plan = start_campaign(runtime, campaign, leads)
        elapsed = time.perf_counter() - started
        rows = plan.sends
    else:
        # The same rows, built up front; only the insert is timed.
        from scheduler.campaign_file import load_campaign  # noqa: PLC0415
        from scheduler.campaigns import Plan, _Starter  # noqa: PLC0415

        starter = _Starter(
            runtime,
            load_campaign(campaign),
            leads,
            __import__("datetime").datetime.now(__import__("datetime").UTC),
            None,
        )
        batches = list(starter.rows(Plan("bench")))
        rows = sum(len(b) for b in batches)
        started = time.perf_counter()
        with runtime.store.engine.begin() as connection:
            for batch in batches:
                connection.execute(sa.insert(Delivery), batch)
        elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": elapsed, "rows": rows, "peak_mb": peak_mb}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _, _, mode, work, database_url, redis_url = sys.argv
        print(json.dumps(measure(mode, Path(work), database_url, redis_url)))
        return
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _files(work, recipients)
        embedded = None
        redis_url = os.environ.get("OUTREACH_TEST_REDIS_URL")
        if not redis_url:
            embedded = EmbeddedRedis(work / "redis").start()
            redis_url = embedded.url
        databases = {"sqlite": f"sqlite:///{work}/bench.db"}
        if os.environ.get("OUTREACH_TEST_DATABASE_URL"):
            databases["postgresql"] = os.environ["OUTREACH_TEST_DATABASE_URL"]
        print(
            f"{recipients} recipients x 3 steps, 50 accounts; redis "
            f"{'embedded' if embedded else 'server'}"
        )
        try:
            for name, url in databases.items():
                results = {}
                for mode in ("campaign", "bulk"):
                    out = subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "tests.bench.enqueue",
                            "--one",
                            mode,
                            str(work),
                            url,
                            redis_url,
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
                c, b = results["campaign"], results["bulk"]
                print(
                    f"{name}: campaign start {c['seconds']:.1f} s for {c['rows']} rows "
                    f"(validate, assign, render, insert, index), peak {c['peak_mb']:.0f} MB; "
                    f"plain bulk insert {b['seconds']:.1f} s, peak {b['peak_mb']:.0f} MB "
                    f"(rows held in memory); ratio {c['seconds'] / b['seconds']:.1f}x"
                )
        finally:
            if embedded:
                embedded.stop()


if __name__ == "__main__":
    main()
