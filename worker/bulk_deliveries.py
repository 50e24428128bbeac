"""Delivery rows written through the database's own bulk path, inside the caller's transaction:
`COPY … FROM STDIN` on PostgreSQL, the driver's `executemany` on SQLite. A campaign's rows are
all alike and already checked, so they skip the ORM's per-row work: each is a plain tuple in
`COLUMNS` order, its times already in the form the backend stores (`stamp`), its status by
name (SQLAlchemy stores enums by name, in PostgreSQL's enum type and SQLite's text alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

COLUMNS = (
    "idempotency_key", "campaign", "step", "account", "provider", "recipient", "text",
    "subject", "inmail", "media_link", "media_ref", "media_type", "variant", "status",
    "attempts", "rate_limits", "error", "after_s", "created_at", "due_at", "updated_at",
)  # fmt: skip
Row = tuple[Any, ...]
_NAMES = ", ".join(COLUMNS)
COPY = f"COPY deliveries ({_NAMES}) FROM STDIN"
INSERT = f"INSERT INTO deliveries ({_NAMES}) VALUES ({', '.join('?' for _ in COLUMNS)})"  # noqa: S608 (constant names)


class BulkDeliveries:
    def __init__(self, connection: Connection):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.written = 0

    def stamp(self, moment: datetime) -> Any:
        """`moment` as this backend stores it (naive UTC; SQLite keeps it as text, the way
        SQLAlchemy writes and reads it)."""
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return naive if self.postgres else naive.strftime("%Y-%m-%d %H:%M:%S.%f")

    def write(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        driver = self.connection.connection.driver_connection
        assert driver is not None
        if self.postgres:
            with driver.cursor() as cursor, cursor.copy(COPY) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            driver.executemany(INSERT, rows)
        self.written += len(rows)
