"""What `outreach demo` shows: live progress per account (a rich table in a terminal, a line
per change otherwise) and the closing summary."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from scheduler.dev.demo_run import EXPECTED_REPLIES, DemoRun
from worker.errors import OutreachError
from worker.models import TERMINAL, Delivery, Status
from worker.runtime import Runtime

COLUMNS = (
    ("waiting", (Status.WAITING,)),  # follow-ups whose previous step is not sent yet
    ("queued", (Status.QUEUED,)),
    ("in progress", (Status.SENDING, Status.CONFIRMING)),
    ("sent", (Status.SENT,)),
    ("failed", (Status.FAILED,)),
    ("unknown", (Status.UNKNOWN,)),
    ("cancelled", (Status.CANCELLED, Status.SKIPPED)),
)


class Watcher:
    """Polls the database until every delivery is terminal (or `timeout_s` passes)."""

    def __init__(
        self, console: Console, runtime: Runtime, total: int, *, live: bool, timeout_s: float = 120
    ):
        self.console = console
        self.runtime = runtime
        self.total = total
        self.live = live
        self.timeout_s = timeout_s
        self.started = time.monotonic()
        self._last_line = ""

    def watch(
        self,
        processes: list[subprocess.Popen[bytes]],
        on_refresh: Callable[[list[Delivery]], None] = lambda rows: None,
    ) -> list[Delivery]:
        """`on_refresh` sees the rows at each refresh (the demo's recipient answers there)."""
        deadline = self.started + self.timeout_s
        rows = self.runtime.store.find()
        live = Live(self._table(rows), console=self.console, auto_refresh=False)
        with live if self.live else nullcontext():
            while time.monotonic() < deadline and not self._settled(rows):
                for process in processes:
                    if process.poll() is not None:
                        command = " ".join(str(a) for a in process.args[1:])  # type: ignore[index]  # a list here
                        raise OutreachError(f"`outreach {command}` exited early; see its log")
                time.sleep(0.25)
                rows = self.runtime.store.find()
                on_refresh(rows)
                if self.live:
                    live.update(self._table(rows), refresh=True)
                else:
                    self._print_line(rows)
        return rows

    def _settled(self, rows: list[Delivery]) -> bool:
        return len(rows) >= self.total and all(r.status in TERMINAL for r in rows)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:5.1f}s"

    def _table(self, rows: list[Delivery]) -> Group:
        done = sum(r.status in TERMINAL for r in rows)
        table = Table("account", "provider", *(name for name, _ in COLUMNS), "state")
        now = time.time()
        for name, account in self.runtime.accounts.items():
            mine = Counter(r.status for r in rows if r.account == name)
            cells = [str(sum(mine[s] for s in statuses)) for _, statuses in COLUMNS]
            table.add_row(name, account.provider, *cells, self._state(name, now))
        heading = Text(f"{self._elapsed()}  {done}/{self.total} messages settled", style="bold")
        return Group(heading, table)

    def _state(self, account: str, now: float) -> str:
        state = self.runtime.due_index.state(account)
        pause = state.pause_at(now)
        if pause is not None:
            left = (pause.until.timestamp() - now) if pause.until else None
            return f"paused {left:.0f}s: {pause.reason}" if left else f"paused: {pause.reason}"
        if state.inflight:
            return "sending"
        if state.next_at and state.next_at > now and state.queued:
            return f"next send in {state.next_at - now:.1f}s"
        return "-"

    def _print_line(self, rows: list[Delivery]) -> None:
        counts = Counter(r.status.value for r in rows)
        paused = [
            f"{name} paused ({pause.reason})"
            for name in self.runtime.accounts
            if (pause := self.runtime.due_index.state(name).pause_at(time.time())) is not None
        ]
        done = sum(r.status in TERMINAL for r in rows)
        parts = [f"{n} {s}" for s, n in sorted(counts.items())] + paused
        line = f"{done}/{self.total} settled: " + ", ".join(parts)
        if line != self._last_line:
            self.console.print(f"[{self._elapsed()}] {line}", highlight=False)
            self._last_line = line


def print_summary(console: Console, run: DemoRun, expected: dict[str, int], outreach: str) -> None:
    console.print(
        f"\n[bold]summary[/bold]: {len(run.rows)} messages: {_counts(run.counts)};"
        f" {len(run.replies)} reply recorded"
    )
    for row in sorted(run.rows, key=lambda r: (r.account, r.id or 0)):
        where = f"{row.account} → {row.recipient} (step {row.step + 1})"
        if row.status != Status.SENT:
            console.print(f"  {row.status.value}: {where}: {row.error}", highlight=False)
        elif row.rate_limits:
            console.print(
                f"  sent after {row.account} was paused for a LinkedIn rate limit"
                f" ({row.rate_limits}x): {where}",
                highlight=False,
            )
    for reply in run.replies:
        console.print(
            f"  replied after step {(reply.step or 0) + 1}: {reply.recipient} wrote"
            f" {reply.text!r}; the follow-up was stopped",
            highlight=False,
        )
    for line in run.rejected:
        console.print(f"  rejected at validation: {line}", highlight=False)
    console.print(
        f"  the sandbox received {run.messages_received} messages"
        f" and saw {run.violations} pacing violations"
    )
    command = (
        os.path.relpath(outreach) if not os.path.relpath(outreach).startswith("..") else outreach
    )
    data_dir = os.path.relpath(run.home)
    console.print(
        f"\n[bold]records[/bold]: the SQLite database {data_dir}/outreach.db; logs in {data_dir}/\n"
        f"  OUTREACH_DATA_DIR={data_dir} {command} deliveries\n"
        f"  OUTREACH_DATA_DIR={data_dir} {command} deliveries --status failed --json\n"
        f"  OUTREACH_DATA_DIR={data_dir} {command} deliveries show ID\n"
        f"  OUTREACH_DATA_DIR={data_dir} {command} replies",
        highlight=False,
    )
    if run.ok:
        console.print(
            "\n[green]demo check passed[/green]: every message ended as expected,"
            " and the one reply was recorded"
        )
    else:
        console.print(
            f"\n[red]demo check failed[/red]: expected {_counts(expected)} and"
            f" {EXPECTED_REPLIES} reply, got {_counts(run.counts)} and {len(run.replies)}"
        )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
