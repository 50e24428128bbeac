"""`outreach demo`: the whole pipeline on embedded defaults, with made-up people and keys.

An embedded Redis, SQLite and the provider sandbox; one scheduler and two workers as real
processes; messages through all three providers, a LinkedIn rate limit that pauses one
account, an OutX task that completes and one that fails, and a message refused before it is
queued. Pacing is scaled down from 30-60 s to 1-2 s so it finishes in under a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import redis
from rich.console import Console
from rich.live import Live
from rich.table import Table

from scheduler.producer import enqueue_message
from worker.errors import InvalidMessageError
from worker.models import TERMINAL, Delivery, Status
from worker.runtime import Runtime
from worker.sandbox.control import sender_of
from worker.sandbox.faults import parse_fault
from worker.sandbox.server import Sandbox
from worker.sandbox.state import Config
from worker.settings import Settings

DEMO_SECRETS = {
    "DEMO_LINKUP_KEY": "demo-linkup-key-0001",
    "DEMO_ALICE_TOKEN": "demo-alice-login-token-0001",
    "DEMO_CONNECTSAFELY_KEY": "demo-connectsafely-key-0001",
    "DEMO_OUTX_KEY": "demo-outx-key-0001",
}
DEMO_ACCOUNTS = """\
[accounts.alice]
provider = "linkup"
api_key = "env:DEMO_LINKUP_KEY"
login_token = "env:DEMO_ALICE_TOKEN"
country = "US"

[accounts.bob]
provider = "connectsafely"
api_key = "env:DEMO_CONNECTSAFELY_KEY"
account_id = "demo-bob"

[accounts.carol]
provider = "outx"
api_key = "env:DEMO_OUTX_KEY"
"""
# (account, recipient, text, extra options); every person here is made up.
DEMO_MESSAGES: list[tuple[str, str, str, dict[str, object]]] = [
    ("alice", "https://www.linkedin.com/in/jane-example", "Hi Jane, loved your talk.", {}),
    ("alice", "https://www.linkedin.com/in/omar-example", "Hi Omar, congrats on the launch.", {}),
    ("alice", "https://www.linkedin.com/in/li-example", "Hi Li, quick question on Rust.", {}),
    ("bob", "sam-example", "Hi Sam, are you still hiring?", {}),
    (
        "bob",
        "urn:li:fsd_profile:ACoAADemoPersonLee000000001",
        "Hi Lee, a short question.",
        {"subject": "Your open-source work", "inmail": True},
    ),
    ("bob", "ana-example", "Hi Ana, thanks for the intro!", {}),
    ("carol", "urn:li:person:ACoAADemoPersonKim000000001", "Hi Kim, thanks for connecting!", {}),
    ("carol", "urn:li:person:ACoAADemoPersonRay000000001", "Hi Ray, good to meet you.", {}),
]
REFUSED = ("carol", "https://www.linkedin.com/in/max-example", "Hi Max (OutX needs a URN).")
OUTREACH = str(Path(sys.executable).parent / "outreach")


def run_demo(console: Console, data_dir: Path) -> int:
    """Run the demo; returns the process exit code (0 when every message ended as expected)."""
    home = data_dir / "demo"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "accounts.toml").write_text(DEMO_ACCOUNTS, encoding="utf-8")
    os.environ.update(DEMO_SECRETS)
    processes: list[subprocess.Popen[bytes]] = []
    with Sandbox(config=Config(min_gap_s=1.0, outx_complete_after_s=1.0)) as sandbox:
        settings = _settings(home, sandbox.url)
        runtime = Runtime(settings)
        try:
            console.print(
                "[bold]outreach demo[/bold]: embedded Redis, SQLite and the provider sandbox;"
                " 1 scheduler, 2 workers.\nPacing is scaled down to 1-2 s between sends of an"
                " account (the default is 30-60 s); every person and key is made up.\n"
            )
            env = _environment(settings, runtime.redis_url)
            _inject_faults(sandbox, runtime)
            _enqueue(console, runtime)
            processes = _start(env, home)
            rows = _watch(console, runtime, len(DEMO_MESSAGES))
            _summarise(console, runtime, rows, sandbox, home)
        finally:
            _stop(processes)
            runtime.redis.close()
            runtime.store.engine.dispose()
            _stop_embedded_redis(runtime)
    expected = Counter({Status.SENT: len(DEMO_MESSAGES) - 1, Status.FAILED: 1})
    return 0 if Counter(r.status for r in rows) == expected else 1


def _settings(home: Path, sandbox_url: str) -> Settings:
    return Settings(
        data_dir=home, accounts_file=home / "accounts.toml",
        linkup_base_url=sandbox_url, connectsafely_base_url=sandbox_url, outx_base_url=sandbox_url,
        pace_min_seconds=1.0, pace_max_seconds=2.0, outx_poll_seconds=0.5,
        outx_poll_max_seconds=1.0, rate_limit_pause_seconds=4.0, retry_base_seconds=1.0,
    )  # fmt: skip


def _environment(settings: Settings, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"OUTREACH_{name.upper()}"] = str(value)
    env["OUTREACH_REDIS_URL"] = redis_url
    env["OUTREACH_DATABASE_URL"] = settings.resolved_database_url
    env["OUTREACH_LOG_FORMAT"] = "json"
    return env


def _inject_faults(sandbox: Sandbox, runtime: Runtime) -> None:
    alice = sender_of(runtime.accounts["alice"])
    sandbox.state.faults.extend(
        [
            parse_fault(
                {"kind": "rate_limit", "provider": "linkup", "sender": alice, "form": "http_200"}
            ),
            parse_fault(
                {"kind": "outx_task", "provider": "outx", "result": "complete", "after_s": 1.0}
            ),
            parse_fault(
                {
                    "kind": "outx_task",
                    "provider": "outx",
                    "result": "fail",
                    "error": "Recipient is not a 1st-degree connection",
                }
            ),
        ]
    )


def _enqueue(console: Console, runtime: Runtime) -> None:
    for account, to, text, options in DEMO_MESSAGES:
        enqueue_message(runtime, account=account, to=to, text=text, **options)  # type: ignore[arg-type]
    account, to, text = REFUSED
    try:
        enqueue_message(runtime, account=account, to=to, text=text)
    except InvalidMessageError as exc:
        console.print(f"refused before queueing (carol → {to}):\n  {exc}\n")


def _start(env: dict[str, str], home: Path) -> list[subprocess.Popen[bytes]]:
    commands = [["scheduler"], ["worker", "--concurrency", "2"], ["worker", "--concurrency", "2"]]
    processes = []
    for i, command in enumerate(commands):
        with (home / f"{command[0]}-{i}.log").open("ab") as log:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own command
                    [OUTREACH, *command],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    return processes


def _watch(
    console: Console, runtime: Runtime, count: int, timeout_s: float = 120
) -> list[Delivery]:
    deadline = time.monotonic() + timeout_s
    rows = runtime.store.find()
    with Live(_progress(runtime, rows), console=console, refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            rows = runtime.store.find()
            live.update(_progress(runtime, rows))
            if len(rows) >= count and all(r.status in TERMINAL for r in rows):
                break
            time.sleep(0.25)
    return rows


def _progress(runtime: Runtime, rows: list[Delivery]) -> Table:
    table = Table(
        "account",
        "provider",
        "queued",
        "in progress",
        "sent",
        "failed",
        "unknown",
        "paused",
        title="deliveries per account",
    )
    for name, account in runtime.accounts.items():
        mine = Counter(r.status for r in rows if r.account == name)
        state = runtime.pacer.state(name)
        pause = state.pause_at(time.time())
        paused = pause.reason if pause else ""
        table.add_row(
            name,
            account.provider,
            str(mine[Status.QUEUED]),
            str(mine[Status.SENDING] + mine[Status.CONFIRMING]),
            str(mine[Status.SENT]),
            str(mine[Status.FAILED]),
            str(mine[Status.UNKNOWN]),
            paused or "-",
        )
    return table


def _summarise(
    console: Console, runtime: Runtime, rows: list[Delivery], sandbox: Sandbox, home: Path
) -> None:
    counts = Counter(r.status.value for r in rows)
    console.print(f"\n[bold]summary[/bold]: {dict(sorted(counts.items()))}")
    for row in rows:
        if row.status != Status.SENT:
            console.print(f"  {row.status.value}: {row.account} → {row.recipient}: {row.error}")
    limited = [r for r in rows if r.rate_limits]
    for row in limited:
        console.print(
            f"  rate limited {row.rate_limits}x, account paused, then sent: "
            f"{row.account} → {row.recipient}"
        )
    console.print(
        f"  the sandbox received {len(sandbox.state.message_list())} messages and saw "
        f"{len(sandbox.state.violations)} pacing violations"
    )
    database = runtime.settings.resolved_database_url
    console.print(
        f"\nrecords: {database}\nlook at them with:\n"
        f"  OUTREACH_DATABASE_URL={database} OUTREACH_ACCOUNTS_FILE={home}/accounts.toml"
        " outreach deliveries\n(add DEMO_* keys from the demo to the environment for"
        " `outreach accounts`; logs are in " + str(home) + ")"
    )


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop_embedded_redis(runtime: Runtime) -> None:
    if runtime.settings.redis_url is None:
        client = redis.Redis.from_url(runtime.redis_url)
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutting down closes the connection under us
        finally:
            client.close()
