"""Liveness of a prefork worker's pool: each pool process rewrites a heartbeat file every
second; the worker parent reads them and judges whether the pool still works.

A pool process is hung when its file has gone stale (the process is frozen, or one call holds
the interpreter) or when its current task has run longer than any task may (a call that never
returns). The worker is alive while at least one pool process is neither.

The parent calls `beat_into(directory)` before the pool forks; the pool processes inherit it
and `worker.tasks` wires the Celery signals to `start_beating`, `task_started` and
`task_finished`. Without it (no metrics port) nothing beats.

Times are `time.monotonic()`: on Linux (CLOCK_MONOTONIC) one clock for every process on the
machine, which a wall-clock step cannot move, so parent and children compare them directly.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from worker.logs import get_logger

BEAT_S = 1.0
SUFFIX = ".beat"

log = get_logger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class Beat:
    """What one pool process last wrote: when, and since when its current task runs."""

    pid: int
    beat_at: float
    task_started_at: float | None


def verdict(
    beats: Iterable[Beat], now: float, *, stuck_after_s: float, task_limit_s: float
) -> str | None:
    """None while at least one pool process is responsive; else why none is."""
    problems = []
    for beat in sorted(beats, key=lambda b: b.pid):
        problem = _problem(beat, now, stuck_after_s, task_limit_s)
        if problem is None:
            return None
        problems.append(f"pid {beat.pid} {problem}")
    if not problems:
        return "no pool process has beaten"
    return "pool hung: " + "; ".join(problems)


def _problem(beat: Beat, now: float, stuck_after_s: float, task_limit_s: float) -> str | None:
    if now - beat.beat_at > stuck_after_s:
        return f"silent for {now - beat.beat_at:.0f}s"
    if beat.task_started_at is not None and now - beat.task_started_at > task_limit_s:
        return f"in one task for {now - beat.task_started_at:.0f}s"
    return None


def format_beat(beat_at: float, task_started_at: float | None) -> str:
    return f"{beat_at!r} {'-' if task_started_at is None else repr(task_started_at)}\n"


def parse_beat(pid: int, text: str) -> Beat | None:
    """The beat in a file's text, or None if it is not one (never written by a Heart)."""
    try:
        beat_at, started = text.split()
        return Beat(pid, float(beat_at), None if started == "-" else float(started))
    except ValueError:
        return None


class Heart:
    """One pool process's heartbeat file, rewritten by a daemon thread. Any thread of a frozen
    process stops, so a fresh file proves the process runs; the task start it carries shows
    a task stuck in a call that releases the interpreter."""

    def __init__(self, directory: Path, pid: int, clock: Clock = time.monotonic):
        self.path = directory / f"{pid}{SUFFIX}"
        self._scratch = directory / f".{pid}.tmp"
        self._clock = clock
        self._failing = False
        # Set and cleared by the task's thread, read by the beating one: a plain attribute
        # store is atomic in CPython, and a beat a second late does not matter.
        self.task_started_at: float | None = None

    def task_started(self) -> None:
        self.task_started_at = self._clock()

    def task_finished(self) -> None:
        self.task_started_at = None

    def beat(self) -> None:
        """Rewrite the file in one step (a rename), so the parent never reads half of it."""
        self._scratch.write_text(format_beat(self._clock(), self.task_started_at))
        os.replace(self._scratch, self.path)

    def start(self) -> Heart:
        threading.Thread(target=self._run, name="heartbeat", daemon=True).start()
        return self

    def _run(self) -> None:
        while True:
            try:
                self.beat()
                self._failing = False
            except OSError:
                # The parent then reports this process silent: say why, once per outage.
                if not self._failing:
                    log.warning("heartbeat_write_failed", path=str(self.path), exc_info=True)
                self._failing = True
            time.sleep(BEAT_S)


class PoolMonitor:
    """The parent's side: reads every heartbeat file, forgets the processes that are gone
    (a child replaced after max tasks, or killed), and judges the rest."""

    def __init__(
        self,
        directory: Path,
        *,
        stuck_after_s: float,
        task_limit_s: float,
        clock: Clock = time.monotonic,
        is_running: Callable[[int], bool] | None = None,
    ):
        self.directory = directory
        self.stuck_after_s = stuck_after_s
        self.task_limit_s = task_limit_s
        self._clock = clock
        self._is_running = is_running or _is_running

    def beats(self) -> list[Beat]:
        found = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            name = path.name.removesuffix(SUFFIX)
            if not name.isdigit():
                continue  # not a Heart's file
            pid = int(name)
            if not self._is_running(pid):
                path.unlink(missing_ok=True)  # a dead process's last beat must not count
                continue
            try:
                beat = parse_beat(pid, path.read_text())
            except FileNotFoundError:
                continue
            if beat is not None:
                found.append(beat)
        return found

    def check(self) -> str | None:
        """The /healthz check: None while the pool works, else the reason."""
        problem = verdict(
            self.beats(),
            self._clock(),
            stuck_after_s=self.stuck_after_s,
            task_limit_s=self.task_limit_s,
        )
        if problem is not None:
            log.warning("worker_pool_unresponsive", reason=problem)
        return problem


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # the pid was reused by another user's process: not one of ours
    return True


# Set in the worker parent before its pool forks; each pool process inherits it.
_directory: Path | None = None
# This pool process's heart, once started.
_heart: Heart | None = None


def beat_into(directory: Path) -> None:
    """Have every pool process forked from now on beat into `directory`."""
    global _directory  # noqa: PLW0603 - inherited through fork, the only way in for a child
    _directory = directory


def start_beating() -> None:
    """In a new pool process: start its heart, if the parent asked for heartbeats."""
    global _heart  # noqa: PLW0603 - one heart per process, reached from Celery's signals
    if _directory is not None:
        _heart = Heart(_directory, os.getpid()).start()


def task_started() -> None:
    if _heart is not None:
        _heart.task_started()


def task_finished() -> None:
    if _heart is not None:
        _heart.task_finished()
