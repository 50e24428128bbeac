"""The recipients a leads file has named so far, with the line of each, kept on disk (a
temporary SQLite database) so that a file of millions of rows is checked for duplicates in
flat memory. Asked a batch at a time: one query and one insert per batch."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType


class SeenRecipients:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="outreach-seen-")
        self._db = sqlite3.connect(Path(self._dir.name) / "seen.db")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE seen (recipient TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID"
        )

    def earlier(self, batch: Sequence[tuple[str, int]]) -> dict[int, int]:
        """For the (recipient, line) pairs of a batch, in line order and after every earlier
        batch: each line whose recipient an earlier line named, and that first line."""
        first: dict[str, int] = {}
        repeats: list[tuple[int, str]] = []
        for recipient, line in batch:
            if recipient in first:
                repeats.append((line, recipient))
            else:
                first[recipient] = line
        known = dict(
            self._db.execute(
                "SELECT recipient, line FROM seen WHERE recipient IN"
                " (SELECT value FROM json_each(?))",
                (json.dumps(list(first)),),
            )
        )
        found = {first[r]: known[r] for r in known}
        found.update((line, known.get(r, first[r])) for line, r in repeats)
        self._db.executemany(
            "INSERT INTO seen VALUES (?, ?)", [(r, n) for r, n in first.items() if r not in known]
        )
        return found

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> SeenRecipients:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
