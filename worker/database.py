"""The database engine and what every store shares: connecting (SQLite's pragmas, a short
connect timeout and a ping after idle on a server), telling an outage from a wrong statement,
and two statements each backend writes its own way (`among`, `insert_for`)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry


def create_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so several processes can write."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A server that went away mid-failover must fail a connect quickly, not after the
    # kernel's minutes of retries: the callers retry on their own terms.
    engine = sa.create_engine(
        url, pool_size=5, max_overflow=10, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )
    _ping_when_idle(engine)
    return engine


CONNECT_TIMEOUT_S = 5


def database_away(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or dropped the connection (a
    restart, a failover, a network cut), as opposed to a statement that is wrong."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | DisconnectionError)


# A pooled connection unused for longer than this is pinged before use (a restarted or failed
# over server dropped it). A busy worker reuses hot connections without a round trip each.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool retries the checkout with a fresh connection.
            raise DisconnectionError(f"database connection lost while idle: {exc}") from None


def among(column: Any, values: Sequence[str], dialect: str) -> sa.ColumnElement[bool]:
    """`column IN values` for a long list, passed as one parameter: with one placeholder per
    value, binding thousands of them costs more than the query (psycopg even parses such a
    query in Python). PostgreSQL splits one string at a separator no value holds (else it
    falls back to placeholders); SQLite reads a JSON array."""
    condition: sa.ColumnElement[bool]
    if dialect == "postgresql":
        if any(_SEPARATOR in value for value in values):
            return column.in_(values)  # type: ignore[no-any-return]
        joined = sa.bindparam(None, _SEPARATOR.join(values), type_=sa.Text)
        condition = column == sa.any_(sa.func.string_to_array(joined, _SEPARATOR))
    elif dialect == "sqlite":
        array = sa.bindparam(None, json.dumps(list(values)), type_=sa.Text)
        members: sa.Select[Any] = sa.select(sa.column("value")).select_from(
            sa.func.json_each(array)
        )
        condition = column.in_(members)
    else:
        condition = column.in_(values)
    return condition


_SEPARATOR = "\x1f"


def insert_for(dialect: str) -> Any:
    """The INSERT that knows ON CONFLICT for this database."""
    if dialect == "postgresql":
        return postgresql.insert
    return sqlite.insert
