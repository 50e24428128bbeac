"""The recipients a leads file has named so far, with the line of each, kept on disk (a
temporary SQLite database) so that a file of millions of rows is checked for duplicates in
flat memory. Asked a batch at a time: one statement per batch, two when it names someone an
earlier batch did."""

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
        payload = json.dumps(first)
        # One statement in the usual batch: insert all, keeping an earlier line where there is
        # one; only when fewer rows went in than were given, ask which (their line is not ours).
        inserted = self._db.execute(
            "INSERT OR IGNORE INTO seen SELECT key, value FROM json_each(?)", (payload,)
        ).rowcount
        known: dict[str, int] = {}
        if inserted != len(first):
            known = dict(
                self._db.execute(
                    "SELECT seen.recipient, seen.line FROM seen JOIN json_each(?) AS given"
                    " ON seen.recipient = given.key WHERE seen.line != given.value",
                    (payload,),
                )
            )
        found = {first[r]: known[r] for r in known}
        found.update((line, known.get(r, first[r])) for line, r in repeats)
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
