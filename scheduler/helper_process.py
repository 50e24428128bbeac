"""A forked process that works beside this one and hands back its results in order.

The helper writes batches to a temporary file as it goes (length, then pickle) and this process
reads them when it is ready for them, so neither holds more than a batch however far apart
they are. Fork, not spawn: the helper starts with this process's state (the campaign checked,
the accounts loaded) instead of doing it all again.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

_END = b"\0" * 8  # a batch of length 0: the helper finished
_POLL_S = 0.005
STALL_S = 120.0  # a helper that writes nothing for this long is given up on


class HelperFailed(Exception):
    """The helper stopped without finishing its work."""


def can_fork() -> bool:
    """Whether a helper may be forked here and gains anything: another core to run on, and
    this process's main thread (a server's worker thread, as the API imports on, is not a
    place to fork from). Other threads (the CLI's progress bar) are harmless: a fork copies
    the locks they may hold, and the helper takes none of them (it writes no output and logs
    nothing) and leaves with os._exit, flushing nothing this process had buffered."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and _cores() > 1
        and threading.current_thread() is threading.main_thread()
    )


def _cores() -> int:
    """The cores this process may run on (its affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Helper:
    """Runs `work(send)` in a forked process; `batches()` yields what it sent, in order."""

    def __init__(self, work: Callable[[Callable[[Any], None]], None]):
        handle, name = tempfile.mkstemp(prefix="outreach-helper-")
        os.close(handle)
        self._path = Path(name)
        context = multiprocessing.get_context("fork")
        self._process = context.Process(target=_run, args=(work, self._path), daemon=True)
        try:
            self._process.start()
        except OSError as exc:  # (no process to spare: the caller does the work itself)
            self._path.unlink(missing_ok=True)
            raise HelperFailed(f"no helper process: {exc}") from exc

    def batches(self) -> Iterator[Any]:
        with self._path.open("rb", buffering=0) as source:
            while True:
                head = self._read(source, 8)
                if head == _END:
                    return
                yield pickle.loads(self._read(source, int.from_bytes(head, "little")))  # noqa: S301 (our own child's)

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._path.unlink(missing_ok=True)

    def _read(self, source: IO[bytes], size: int) -> bytes:
        """The next `size` bytes, waiting for the helper to write them."""
        data = b""
        waited_since = time.monotonic()
        while len(data) < size:
            chunk = source.read(size - len(data))
            if chunk:
                data += chunk
                waited_since = time.monotonic()
            elif not self._process.is_alive():
                # (It may have written the rest just before it ended.)
                if not (chunk := source.read(size - len(data))):
                    raise HelperFailed(f"the helper ended with code {self._process.exitcode}")
                data += chunk
            elif time.monotonic() - waited_since > STALL_S:
                raise HelperFailed(f"the helper wrote nothing for {STALL_S:.0f} s")
            else:
                time.sleep(_POLL_S)
        return data


def _run(work: Callable[[Callable[[Any], None]], None], path: Path) -> None:
    parent = os.getppid()
    # Nothing the helper does may write to the terminal: a lock on it may have been held by
    # another thread at the fork, and what it would say bypasses the parent's redaction.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (Ctrl-C stops the parent, which kills it)
    warnings.simplefilter("ignore")
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (open until os._exit)
    try:
        with path.open("wb") as out:

            def send(batch: Any) -> None:
                if os.getppid() != parent:  # the parent is gone: nobody will read this
                    os._exit(1)
                data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                out.write(len(data).to_bytes(8, "little"))
                out.write(data)
                out.flush()

            work(send)
            out.write(_END)
    except BaseException:  # the parent does the work itself, and reports what fails
        os._exit(1)
    os._exit(0)
