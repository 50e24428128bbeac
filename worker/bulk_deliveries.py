"""Delivery rows written through the database's own bulk path, inside the caller's transaction:
`COPY … FROM STDIN` on PostgreSQL (in its binary format: a sixth of the text format's
client time, measured), the driver's `executemany` on SQLite. A campaign's rows are
all alike and already checked, so they skip the ORM's per-row work: each is a plain tuple in
`COLUMNS` order, its times already in the form the backend stores (`stamp`), its status by
name (SQLAlchemy stores enums by name, in PostgreSQL's enum type and SQLite's text alike).

The queued rows' ids are kept, compactly, so that the caller indexes them in Redis once
committed. On SQLite they are given here, after the largest (this transaction holds the
database's one write lock from its first statement, so no one else can take an id meanwhile).
On PostgreSQL the table's sequence gives them, as COPY writes (taking them first cost a round
trip per batch and a third of the writer's time, measured), and the queued ones are read back
at the end, in the same transaction: those its campaign, moment and transaction wrote."""

from __future__ import annotations

import queue
import threading
from array import array
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

COLUMNS = (
    "idempotency_key", "campaign", "step", "account", "provider", "recipient", "text",
    "subject", "inmail", "media_link", "media_ref", "media_type", "variant", "status",
    "attempts", "rate_limits", "error", "after_s", "created_at", "due_at", "updated_at",
)  # fmt: skip
Row = tuple[Any, ...]
_ACCOUNT, _STATUS = COLUMNS.index("account"), COLUMNS.index("status")
_CAMPAIGN, _CREATED = COLUMNS.index("campaign"), COLUMNS.index("created_at")
COPY = f"COPY deliveries ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_NAMES, _MARKS = ", ".join(COLUMNS), ", ".join("?" for _ in COLUMNS)
INSERT = f"INSERT INTO deliveries (id, {_NAMES}) VALUES (?, {_MARKS})"  # noqa: S608 (constant names)
# The queued rows this transaction wrote: campaign, step and status give the index, the
# moment narrows it, and the writing transaction (xmin) makes it exact (an import makes no
# savepoint, so its rows all carry its own id).
_WRITTEN_QUEUED = sa.text(
    "SELECT id, account FROM deliveries"
    " WHERE campaign = :campaign AND step = 0 AND status = 'QUEUED' AND created_at = :created"
    " AND xmin::text = (txid_current() % 4294967296)::text"
).execution_options(stream_results=True, yield_per=5000)
# The binary format must name each column's type (it casts nothing): read from the table, so
# a migration that changes a type changes it here too. An enum's binary form is its label.
COLUMN_TYPES = (
    "SELECT a.attname, CASE WHEN t.typtype = 'e' THEN 'text' ELSE t.typname END"
    " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " WHERE a.attrelid = 'deliveries'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
)  # (name, type) of each column


class BulkDeliveries:
    """Buffers rows and writes them `FLUSH_ROWS` at a time. On PostgreSQL, from a thread of
    its own: the server does the work in its own process, so on two cores the import checks
    the next batch while this one is written. At most two full batches wait for the writer
    (`write` blocks beyond), so memory stays flat. The connection is the writer's alone from
    the first batch until `finish` or `stop` returns."""

    FLUSH_ROWS = 20_000

    def __init__(self, connection: Connection):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.written = 0
        self._buffer: list[Row] = []
        self._next_id: int | None = None  # SQLite
        self._types: list[str] | None = None  # PostgreSQL: each column's, in COPY order
        self._moments: set[tuple[str, Any]] = set()  # PostgreSQL: (campaign, created_at) queued
        self._copied_queued = 0  # PostgreSQL: queued rows written, to read back
        self._accounts: dict[str, int] = {}
        self._queued_ids = array("q")
        self._queued_accounts = array("l")  # into `_accounts`, in the same order
        self._batches: queue.Queue[list[Row] | None] = queue.Queue(maxsize=2)
        self._writer: threading.Thread | None = None
        self._failure: BaseException | None = None

    def stamp(self, moment: datetime) -> Any:
        """`moment` as this backend stores it (naive UTC; SQLite keeps it as text, the way
        SQLAlchemy writes and reads it)."""
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return naive if self.postgres else naive.strftime("%Y-%m-%d %H:%M:%S.%f")

    def write(self, rows: Sequence[Row]) -> None:
        if self._failure is not None:
            raise self._failure
        self._buffer.extend(rows)
        if len(self._buffer) >= self.FLUSH_ROWS:
            self._hand_over()

    def finish(self) -> None:
        """Write what is left and wait until it is written; raises what writing raised."""
        self._hand_over()
        self.stop()
        if self._failure is not None:
            raise self._failure
        if self.postgres:
            self._read_queued()

    def stop(self) -> None:
        """Wait for the writer to end, once it has written what was handed to it (on the
        way to a rollback too: the connection must be free for it)."""
        if self._writer is not None:
            self._batches.put(None)
            self._writer.join()
            self._writer = None

    def _hand_over(self) -> None:
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        if not self.postgres:
            # SQLite works in this process, binding each value under the GIL: a thread would
            # only fight the checks for it (measured: the writes took twice as long).
            self._send(rows)
            return
        if self._writer is None:
            self._writer = threading.Thread(target=self._drain, name="bulk-deliveries")
            self._writer.start()
        self._batches.put(rows)

    def _drain(self) -> None:
        while (rows := self._batches.get()) is not None:
            if self._failure is None:
                try:
                    self._send(rows)
                except BaseException as exc:
                    self._failure = exc

    def _send(self, rows: list[Row]) -> None:
        if len(rows[0]) != len(COLUMNS):
            raise ValueError(f"a delivery row has {len(rows[0])} values for {len(COLUMNS)} columns")
        if self.postgres:
            self._copy(rows)
        else:
            self._insert(rows)
        self.written += len(rows)

    def _copy(self, rows: list[Row]) -> None:
        types = self._column_types()
        for row in rows:
            if row[_STATUS] == "QUEUED":
                self._moments.add((row[_CAMPAIGN], row[_CREATED]))
                self._copied_queued += 1
        driver = self.connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(COPY) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def _insert(self, rows: list[Row]) -> None:
        if self._next_id is None:
            largest = self.connection.execute(sa.text("SELECT max(id) FROM deliveries"))
            self._next_id = int(largest.scalar() or 0) + 1
        first, self._next_id = self._next_id, self._next_id + len(rows)
        ids = range(first, first + len(rows))
        for delivery_id, row in zip(ids, rows, strict=True):
            if row[_STATUS] == "QUEUED":
                self._keep_queued(delivery_id, row[_ACCOUNT])
        driver = self.connection.connection.driver_connection
        assert driver is not None
        driver.executemany(INSERT, [(i, *row) for i, row in zip(ids, rows, strict=True)])

    def _read_queued(self) -> None:
        """The queued rows COPY wrote, read back in this transaction (streamed: flat memory).
        Fewer or more than were written would index the wrong rows: the import fails."""
        for campaign, created in sorted(self._moments):
            parameters = {"campaign": campaign, "created": created}
            for delivery_id, account in self.connection.execute(_WRITTEN_QUEUED, parameters):
                self._keep_queued(delivery_id, account)
        if len(self._queued_ids) != self._copied_queued:
            raise RuntimeError(
                f"read back {len(self._queued_ids)} queued deliveries of the"
                f" {self._copied_queued} written"
            )

    def _keep_queued(self, delivery_id: int, account: str) -> None:
        self._queued_ids.append(delivery_id)
        self._queued_accounts.append(self._accounts.setdefault(account, len(self._accounts)))

    def _column_types(self) -> list[str]:
        if self._types is None:
            found = {name: kind for name, kind in self.connection.exec_driver_sql(COLUMN_TYPES)}
            self._types = [found[name] for name in COLUMNS]
        return self._types

    def queued(self, due_ts: float, batch: int = 5000) -> Iterator[list[tuple[str, int, float]]]:
        """The queued rows written, as Redis index entries (account, id, due), in batches."""
        names = list(self._accounts)
        for start in range(0, len(self._queued_ids), batch):
            ids = self._queued_ids[start : start + batch]
            accounts = self._queued_accounts[start : start + batch]
            yield [(names[a], i, due_ts) for a, i in zip(accounts, ids, strict=True)]
