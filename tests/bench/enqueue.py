"""Enqueue benchmark (prints figures, asserts nothing): a three-step campaign from CSV through
`outreach campaign start`, beside the database's own bulk path for the same rows, in one run.

    python -m tests.bench.enqueue [RECIPIENTS ...]      (default: 100000)

A machine's speed may wander by a third from one minute to the next, so each size below
`REPEAT_UNDER` recipients is measured `ROUNDS` times, the three modes interleaved: the figures
are medians (the peak memory, the highest), and the ratio's range over the rounds is printed
beside the ratio of medians.

For each size and database (SQLite always; PostgreSQL when OUTREACH_TEST_DATABASE_URL names
one), in fresh processes so each peak memory is its own:
- `outreach campaign start --dry-run` (check everything, write nothing);
- `outreach campaign start` (check, assign, render, write, index in Redis);
- the bare baseline: read the same CSV with the csv module, render the same three texts,
  hash the same idempotency keys, and write the rows in one transaction into an empty table of
  the same schema and indexes: `sqlite3` `executemany` on SQLite, psycopg `COPY` in the
  binary format (the fastest it has) on PostgreSQL. The ratio is campaign start over the baseline.
The command's clock includes its start-up (about a second of imports), with its modules
compiled as an installation has them (`warm_up`); the baseline's starts after its imports.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from tests.bench.services import bench_redis
from tests.databases import migrate
from tests.fakes import account_secrets, accounts_toml
from worker.bulk_deliveries import COLUMN_TYPES, COLUMNS
from worker.runtime import Runtime
from worker.settings import Settings

OUTREACH = str(Path(sys.executable).parent / "outreach")
ACCOUNTS = {f"s{i:02d}": "linkup" for i in range(50)}
ROUNDS, REPEAT_UNDER = 3, 500_000
TEXTS = (
    "Hi {first_name}, I saw your work at {company}.",
    "Following up, {first_name}.",
    "Last note from me.",
)
AFTER_S = (None, 3 * 86400.0, 7 * 86400.0)
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


def write_files(work: Path, recipients: int) -> None:
    (work / "campaign.toml").write_text(
        CAMPAIGN.format(accounts=", ".join(f'"{a}"' for a in ACCOUNTS)), "utf-8"
    )
    with (work / "leads.csv").open("w", encoding="utf-8") as out:
        out.write("linkedin_url,first_name,company\n")
        for i in range(recipients):
            out.write(f"https://www.linkedin.com/in/bench-person-{i},Person{i},Company {i % 977}\n")
    (work / "accounts.toml").write_text(accounts_toml(ACCOUNTS), "utf-8")


def empty_schema(database_url: str, redis_url: str, work: Path) -> None:
    """A migrated, empty database and an empty Redis."""
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
    runtime.redis.close()
    runtime.store.engine.dispose()


def bare_rows(leads: Path, now: str | datetime) -> list[tuple[object, ...]]:
    """The same rows as the campaign writes: read, rendered and keyed, nothing checked."""
    rows: list[tuple[object, ...]] = []
    with leads.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for i, (url, first_name, company) in enumerate(reader):
            account = f"s{i % 50:02d}"
            for step, text in enumerate(TEXTS):
                key = hashlib.sha256(f"bench\x1f{url}\x1f{step}".encode()).hexdigest()
                rows.append((
                    key, "bench", step, account, "linkup", url,
                    text.format(first_name=first_name, company=company), None, False, None,
                    None, None, None, "QUEUED" if step == 0 else "WAITING", 0, 0, None,
                    AFTER_S[step], now, now, now,
                ))  # fmt: skip
    return rows


def bare(database_url: str, leads: Path) -> float:
    """Seconds for the baseline: everything from reading the CSV to the commit."""
    names = ", ".join(COLUMNS)
    started = time.perf_counter()
    if database_url.startswith("sqlite"):
        now = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = bare_rows(leads, now)
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        # As outreach's engine sets them (worker.database.create_engine): a fair comparison.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        marks = ", ".join("?" for _ in COLUMNS)
        with connection:
            connection.executemany(f"INSERT INTO deliveries ({names}) VALUES ({marks})", rows)  # noqa: S608
        connection.close()
    else:
        rows = bare_rows(leads, datetime.now(UTC).replace(tzinfo=None))
        statement = f"COPY deliveries ({names}) FROM STDIN (FORMAT BINARY)"
        with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
            types = dict(cursor.execute(COLUMN_TYPES).fetchall())
            with cursor.copy(statement) as copy:
                copy.set_types([types[name] for name in COLUMNS])
                for row in rows:
                    copy.write_row(row)
    return time.perf_counter() - started


def one(mode: str, work: Path, database_url: str, redis_url: str) -> dict[str, float]:
    """One measurement, in this process (its children's peak memory is the CLI's)."""
    empty_schema(database_url, redis_url, work)
    if mode == "bare":
        seconds = bare(database_url, work / "leads.csv")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"seconds": seconds, "peak_mb": peak}
    env = {
        **os.environ,
        "PYTHONPYCACHEPREFIX": str(work / "bytecode"),
        "OUTREACH_DATABASE_URL": database_url,
        "OUTREACH_REDIS_URL": redis_url,
        "OUTREACH_ACCOUNTS_FILE": str(work / "accounts.toml"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    warm_up(env, work)
    args = [OUTREACH, "campaign", "start", str(work / "campaign.toml"), str(work / "leads.csv")]
    args += ["--json"] + (["--dry-run"] if mode == "dry" else [])
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "sends": json.loads(done.stdout)["sends"]}


def warm_up(env: dict[str, str], work: Path) -> None:
    """Before the clock starts, a dry run of one lead, so that every module the command loads
    is compiled (into `work`), as in an installation: pip compiles what it installs, while a
    machine that sets PYTHONDONTWRITEBYTECODE would compile this checkout on every command (a
    third of a second, measured)."""
    with (work / "leads.csv").open(encoding="utf-8") as leads:
        (work / "one-lead.csv").write_text(leads.readline() + leads.readline(), "utf-8")
    args = [OUTREACH, "campaign", "start", str(work / "campaign.toml"), str(work / "one-lead.csv")]
    subprocess.run([*args, "--dry-run"], env=env, capture_output=True, check=True)


def measure(mode: str, work: Path, database_url: str, redis_url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.enqueue", "--one", mode, str(work), database_url,
         redis_url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _, _, mode, work, database_url, redis_url = sys.argv
        print(json.dumps(one(mode, Path(work), database_url, redis_url)))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [100_000]
    with tempfile.TemporaryDirectory() as tmp, bench_redis(Path(tmp)) as redis_url:
        work = Path(tmp)
        databases = {"sqlite": f"sqlite:///{work}/bench.db"}
        if os.environ.get("OUTREACH_TEST_DATABASE_URL"):
            databases["postgresql"] = os.environ["OUTREACH_TEST_DATABASE_URL"]
        for size in sizes:
            write_files(work, size)
            print(f"{size:,} recipients x 3 steps, 50 accounts, through `outreach`:")
            for name, url in databases.items():
                rounds = ROUNDS if size < REPEAT_UNDER else 1
                runs = [
                    {mode: measure(mode, work, url, redis_url) for mode in ("dry", "start", "bare")}
                    for _ in range(rounds)
                ]
                dry, start, base = (_median(runs, mode) for mode in ("dry", "start", "bare"))
                ratios = sorted(r["start"]["seconds"] / r["bare"]["seconds"] for r in runs)
                spread = f" (rounds {ratios[0]:.2f}-{ratios[-1]:.2f})" if rounds > 1 else ""
                bulk = "binary COPY" if name == "postgresql" else "executemany"
                print(
                    f"  {name}: campaign start {start['seconds']:.1f} s"
                    f" ({start['sends'] / start['seconds']:,.0f} rows/s, peak"
                    f" {start['peak_mb']:.0f} MB); bare {bulk} {base['seconds']:.1f} s"
                    f" (rows held in memory, peak {base['peak_mb']:.0f} MB): ratio"
                    f" {start['seconds'] / base['seconds']:.2f}x{spread}; dry run"
                    f" {dry['seconds']:.1f} s, peak {dry['peak_mb']:.0f} MB"
                    + (f"; medians of {rounds} rounds" if rounds > 1 else "")
                )


def _median(runs: list[dict[str, dict[str, float]]], mode: str) -> dict[str, float]:
    """Each figure of `mode`, its median over the rounds; the peak memory, its highest."""
    return {
        key: (max if key == "peak_mb" else statistics.median)(run[mode][key] for run in runs)
        for key in runs[0][mode]
    }


if __name__ == "__main__":
    main()
