"""`outreach demo`: the shipped sample campaign (`scheduler/dev/sample/`) on embedded defaults.

An embedded Redis, SQLite and the provider sandbox; one scheduler and two workers as real
processes. The campaign sends a two-step sequence through LinkUp, ConnectSafely and OutX; the
sandbox rate-limits one account once and fails one OutX task; one row of the leads file is
rejected at validation; one recipient answers after step 1, so their follow-up is stopped.
Pacing and follow-up delays are scaled down so the whole run takes well under a minute, and the
demo checks that every message ended as expected and the one reply was recorded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from rich.console import Console

from scheduler.api.api_keys import ApiKeys
from scheduler.campaign_file import parse_duration
from scheduler.campaigns import Plan, start_campaign
from scheduler.dev.demo_reply import Answerer
from scheduler.dev.demo_run import EXPECTED, EXPECTED_REPLIES, DemoRun
from scheduler.dev.demo_view import Watcher, print_summary
from worker.dev.embedded import EmbeddedRedis
from worker.dev.sandbox.control import sender_of
from worker.dev.sandbox.faults import parse_fault
from worker.dev.sandbox.server import Sandbox
from worker.dev.sandbox.state import Config
from worker.errors import CampaignInputError
from worker.runtime import Runtime
from worker.settings import Settings

SAMPLE = resources.files("scheduler.dev.sample")
# Made-up keys: the sandbox accepts any, and the demo must never need real ones.
DEMO_SECRETS = {
    "DEMO_LINKUP_API_KEY": "demo-linkup-key-0001",
    "DEMO_ALICE_LOGIN_TOKEN": "demo-alice-login-token-0001",
    "DEMO_CONNECTSAFELY_API_KEY": "demo-connectsafely-key-0001",
    "DEMO_OUTX_API_KEY": "demo-outx-key-0001",
}
PACE_S = (1.0, 2.0)  # instead of 30-60 s between two sends of an account
DAY_S = 5.0  # each day of a follow-up delay lasts this long
RATE_LIMIT_PAUSE_S = 5.0  # instead of 300 s
READ_MIN_S = 1.0  # instead of 5 s between two reads of an account
OUTX_FAILURE = "Recipient is not a 1st-degree connection"
OUTREACH = str(Path(sys.executable).parent / "outreach")
PAGE_PORT = 8080


def run_demo(
    console: Console,
    data_dir: Path,
    live: bool,
    page_port: int = PAGE_PORT,
    keep_page: bool = False,
) -> int:
    """Run the demo; the exit code is 0 when every message ended as expected. The live page
    is served on `page_port` (another free port if it is taken) while it runs, and after it
    until Ctrl-C with `keep_page`."""
    home = data_dir / "demo"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    campaign_file, leads_file = _copy_sample(home)
    os.environ.update(DEMO_SECRETS)
    config = Config(min_gap_s=PACE_S[0], outx_complete_after_s=1.0)
    with _interruptible(), Sandbox(config=config) as sandbox, EmbeddedRedis(home) as redis:
        runtime = Runtime(_settings(home, sandbox.url, redis.url))
        processes: list[subprocess.Popen[bytes]] = []
        run: DemoRun | None = None
        try:
            _introduce(console)
            _inject_faults(sandbox, runtime)
            rejected, plan = _start_campaign(console, runtime, campaign_file, leads_file)
            port = page_port if _port_free(page_port) else _free_port()
            processes = _start_processes(_environment(runtime), home, port)
            _show_page(console, runtime, port)
            answerer = Answerer(sandbox.state.conversations, runtime)
            rows = Watcher(console, runtime, plan.sends, live=live).watch(processes, answerer)
            run = DemoRun(
                home,
                rejected,
                plan,
                rows,
                len(sandbox.state.message_list()),
                len(sandbox.state.violations),
                runtime.recipients.replies(),
            )
            if keep_page:
                print_summary(console, run, EXPECTED, OUTREACH)
                console.print(
                    f"\nThe live page stays up at http://127.0.0.1:{port}/; Ctrl-C stops it."
                )
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            if keep_page and run is not None:
                return 0 if run.ok else 1
            console.print("\ninterrupted: stopping the workers, the scheduler and Redis")
            return 130
        finally:
            _stop(processes)
            runtime.redis.close()
            runtime.store.engine.dispose()
    print_summary(console, run, EXPECTED, OUTREACH)
    (home / "summary.json").write_text(
        json.dumps(
            {
                "counts": run.counts,
                "expected": EXPECTED,
                "replies": len(run.replies),
                "expected_replies": EXPECTED_REPLIES,
                "ok": run.ok,
            }
        ),
        encoding="utf-8",
    )
    return 0 if run.ok else 1


def _copy_sample(home: Path) -> tuple[Path, Path]:
    """The sample files in `home`, with the campaign's follow-up delays scaled down."""
    (home / "accounts.toml").write_text(SAMPLE.joinpath("accounts.toml").read_text("utf-8"))
    leads_file = home / "leads.csv"
    leads_file.write_text(SAMPLE.joinpath("leads.csv").read_text("utf-8"), encoding="utf-8")
    campaign = SAMPLE.joinpath("campaign.toml").read_text("utf-8")
    campaign_file = home / "campaign.toml"
    campaign_file.write_text(re.sub(r'after = "([^"]+)"', _scaled, campaign), encoding="utf-8")
    return campaign_file, leads_file


def _scaled(match: re.Match[str]) -> str:
    days = parse_duration(match.group(1)) / 86400
    return f'after = "{round(days * DAY_S)}s"'


def _settings(home: Path, sandbox_url: str, redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url, data_dir=home, accounts_file=home / "accounts.toml",
        linkup_base_url=sandbox_url, connectsafely_base_url=sandbox_url, outx_base_url=sandbox_url,
        pace_min_seconds=PACE_S[0], pace_max_seconds=PACE_S[1],
        outx_poll_seconds=0.5, outx_poll_max_seconds=1.0,
        rate_limit_pause_seconds=RATE_LIMIT_PAUSE_S, retry_base_seconds=1.0,
        read_min_seconds=READ_MIN_S, reply_check_retry_seconds=1.0,
    )  # fmt: skip


def _introduce(console: Console) -> None:
    console.print(
        "[bold]outreach demo[/bold]: the sample campaign in scheduler/dev/sample/ on an embedded"
        " Redis, SQLite and the provider sandbox, with 1 scheduler and 2 workers.\n"
        f"[yellow]Time is scaled down[/yellow]: {PACE_S[0]:g}-{PACE_S[1]:g} s between two sends"
        f" of an account (30-60 s by default), each day of a follow-up delay lasts {DAY_S:g} s,"
        f" a rate-limit pause {RATE_LIMIT_PAUSE_S:g} s (300 s by default), {READ_MIN_S:g} s"
        " between two conversation reads (5 s).\n"
        "Every person and key is made up; nothing leaves this machine.\n"
    )


def _inject_faults(sandbox: Sandbox, runtime: Runtime) -> None:
    """LinkedIn rate-limits alice once (LinkUp's HTTP 200 form); carol's first OutX task fails."""
    alice = sender_of(runtime.accounts["alice"])
    for fault in (
        {"kind": "rate_limit", "provider": "linkup", "sender": alice, "form": "http_200"},
        {"kind": "outx_task", "provider": "outx", "result": "fail", "error": OUTX_FAILURE},
    ):
        sandbox.state.faults.append(parse_fault(fault))


def _start_campaign(
    console: Console, runtime: Runtime, campaign_file: Path, leads_file: Path
) -> tuple[list[str], Plan]:
    """Start the campaign as a user would: the file is rejected whole, with every mistake;
    the demo then removes the rows at fault (as you would fix them) and starts it."""
    console.print(f"$ outreach campaign start {campaign_file.name} {leads_file.name}")
    try:
        start_campaign(runtime, campaign_file, leads_file)
    except CampaignInputError as exc:
        rejected = exc.lines
        console.print("[red]rejected, nothing written:[/red]")
        for line in rejected:
            console.print(f"  {line}", highlight=False)
        _drop_lines(leads_file, exc.line_numbers)
        console.print(f"the demo removes line(s) {exc.line_numbers} and starts it again:\n")
    else:
        raise AssertionError("the sample leads file has a row that must be rejected")
    plan = start_campaign(runtime, campaign_file, leads_file)
    per_account = ", ".join(f"{a} {n}" for a, n in sorted(plan.per_account.items()))
    console.print(
        f"campaign {plan.campaign}: {plan.recipients} recipients ({per_account}),"
        f" {plan.sends} messages queued\n"
    )
    return rejected, plan


def _drop_lines(path: Path, numbers: list[int]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(
        "".join(line for i, line in enumerate(lines, start=1) if i not in numbers),
        encoding="utf-8",
    )


def _environment(runtime: Runtime) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    for name, value in runtime.settings.model_dump().items():
        if value is not None:
            env[f"OUTREACH_{name.upper()}"] = str(value)
    env["OUTREACH_DATABASE_URL"] = runtime.settings.resolved_database_url
    env["OUTREACH_LOG_FORMAT"] = "json"
    return env


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _show_page(console: Console, runtime: Runtime, port: int) -> None:
    """A key for this demo's database, and where the page is: shown once, as `api-keys
    create` shows keys."""
    key = ApiKeys(runtime.engine, runtime.redis).create("demo", read_only=True).key
    console.print(
        f"[bold]Live page[/bold]: http://127.0.0.1:{port}/  (log in with the read-only key {key};"
        f" the API is at http://127.0.0.1:{port}/docs)\n",
        highlight=False,
    )


def _start_processes(
    env: dict[str, str], home: Path, page_port: int
) -> list[subprocess.Popen[bytes]]:
    commands = [
        ["scheduler"],
        ["worker", "--concurrency", "2"],
        ["worker", "--concurrency", "2"],
        ["api", "--port", str(page_port)],
    ]
    processes = []
    for i, command in enumerate(commands):
        with (home / f"{command[0]}-{i}.log").open("ab") as log:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own command
                    [OUTREACH, *command],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Own session: a Ctrl-C reaches the demo only, which stops these in order.
                    start_new_session=True,
                )
            )
    return processes


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the demo and everything it started. Set explicitly: a process
    started in the background by a shell inherits SIGINT ignored."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
