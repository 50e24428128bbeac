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
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

_END = b"\0" * 8  # a batch of length 0: the helper finished
_POLL_S = 0.005


class HelperFailed(Exception):
    """The helper stopped without finishing its work."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) > 1


class Helper:
    """Runs `work(send)` in a forked process; `batches()` yields what it sent, in order."""

    def __init__(self, work: Callable[[Callable[[Any], None]], None]):
        handle, name = tempfile.mkstemp(prefix="outreach-helper-")
        os.close(handle)
        self._path = Path(name)
        context = multiprocessing.get_context("fork")
        self._process = context.Process(target=_run, args=(work, self._path), daemon=True)
        self._process.start()

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
        while len(data) < size:
            chunk = source.read(size - len(data))
            if chunk:
                data += chunk
            elif self._process.is_alive():
                time.sleep(_POLL_S)
            elif not (chunk := source.read(size - len(data))):  # (it may have written, then ended)
                raise HelperFailed(f"the helper process ended with code {self._process.exitcode}")
            else:
                data += chunk
        return data


def _run(work: Callable[[Callable[[Any], None]], None], path: Path) -> None:
    with path.open("wb") as out:

        def send(batch: Any) -> None:
            data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(len(data).to_bytes(8, "little"))
            out.write(data)
            out.flush()

        work(send)
        out.write(_END)
