"""The webhook tables: endpoints, and the outbox of events for them. `write_outbox` runs inside
the transaction of the change an event describes (the delivery and recipient stores call it);
every other statement about these tables is here too. An event is `pending` until its
receiver answers 2xx (`delivered`) or its retries run out (`dead`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from worker.models import WebhookEndpoint, WebhookEvent

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
_EVENTS: sa.Table = WebhookEvent.__table__  # type: ignore[attr-defined]
_ENDPOINTS: sa.Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OutboxRow:
    """An event for one endpoint, to be written with the change it describes."""

    endpoint_id: int
    message_id: str
    event_type: str
    payload: str
    at: datetime  # when the change happened: the row's creation and first attempt


def write_outbox(connection: Connection, rows: Sequence[OutboxRow]) -> list[int]:
    """Insert `rows` as pending events, due at once, on the caller's `connection` (inside its
    transaction); their ids, for the due-time index once that transaction has committed."""
    if not rows:
        return []
    values = [
        {
            "endpoint_id": row.endpoint_id,
            "message_id": row.message_id,
            "event_type": row.event_type,
            "payload": row.payload,
            "state": PENDING,
            "attempts": 0,
            "created_at": row.at,
            "next_attempt_at": row.at,
            "updated_at": row.at,
        }
        for row in rows
    ]
    # Only for endpoints still there: a process's list is up to a few seconds old, and an
    # event for an endpoint removed meanwhile must not undo the change it rides with (a send's
    # record). SQLite enforces no foreign key here: look first. Elsewhere the key refuses
    # such an event; the savepoint keeps that from aborting the caller's transaction, and the
    # insert is made again for the endpoints left (no extra query in the usual case).
    if connection.dialect.name == "sqlite":
        return _insert_events(connection, _for_live_endpoints(connection, values))
    try:
        with connection.begin_nested():
            return _insert_events(connection, values)
    except IntegrityError:
        return _insert_events(connection, _for_live_endpoints(connection, values))


def _for_live_endpoints(
    connection: Connection, values: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    wanted = {value["endpoint_id"] for value in values}
    live = set(
        connection.execute(sa.select(_ENDPOINTS.c.id).where(_ENDPOINTS.c.id.in_(wanted))).scalars()
    )
    return [value for value in values if value["endpoint_id"] in live]


def _insert_events(connection: Connection, values: list[dict[str, Any]]) -> list[int]:
    if not values:
        return []
    statement = sa.insert(_EVENTS).returning(_EVENTS.c.id)
    # One statement per row: "insertmanyvalues" keeps RETURNING in order on every backend.
    return [int(id_) for id_ in connection.execute(statement, values).scalars()]


@dataclass(frozen=True)
class EndpointLine:
    """An endpoint with its events still to deliver and those that died."""

    endpoint: WebhookEndpoint
    pending: int
    dead: int


@dataclass(frozen=True)
class Failure:
    """A dead event: what it was, for whom, and the last thing its receiver said."""

    event: WebhookEvent
    url: str


class WebhookStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add_endpoint(self, url: str, events: Sequence[str], secret_env: str, now: datetime) -> int:
        endpoint = WebhookEndpoint(
            url=url, events=",".join(events), secret_env=secret_env, created_at=now
        )
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(endpoint)
            session.commit()
            assert endpoint.id is not None
            return endpoint.id

    def write(self, rows: Sequence[OutboxRow]) -> list[int]:
        """Write events in a transaction of their own; their ids."""
        with self.engine.begin() as connection:
            return write_outbox(connection, rows)

    def endpoints(self) -> list[WebhookEndpoint]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))))

    def endpoint(self, endpoint_id: int) -> WebhookEndpoint | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(WebhookEndpoint, endpoint_id)

    def endpoint_lines(self) -> list[EndpointLine]:
        counts = (
            sa.select(col(WebhookEvent.endpoint_id), col(WebhookEvent.state), sa.func.count())
            .where(col(WebhookEvent.state).in_([PENDING, DEAD]))
            .group_by(col(WebhookEvent.endpoint_id), col(WebhookEvent.state))
        )
        with self.engine.connect() as connection:
            by = {(int(e), str(s)): int(n) for e, s, n in connection.execute(counts)}
        return [
            EndpointLine(e, by.get((e.id or 0, PENDING), 0), by.get((e.id or 0, DEAD), 0))
            for e in self.endpoints()
        ]

    def remove_endpoint(self, endpoint_id: int) -> int | None:
        """Delete an endpoint and its events; how many of them were undelivered (None: no
        such endpoint)."""
        undelivered = (
            sa.select(sa.func.count())
            .select_from(_EVENTS)
            .where(_EVENTS.c.endpoint_id == endpoint_id, _EVENTS.c.state != DELIVERED)
        )
        with self.engine.begin() as connection:
            dropped = int(connection.execute(undelivered).scalar_one())
            connection.execute(sa.delete(_EVENTS).where(_EVENTS.c.endpoint_id == endpoint_id))
            gone = connection.execute(sa.delete(_ENDPOINTS).where(_ENDPOINTS.c.id == endpoint_id))
            return dropped if gone.rowcount else None

    def event(self, event_id: int) -> tuple[WebhookEvent, WebhookEndpoint] | None:
        """An event and its endpoint, in one statement."""
        statement = (
            select(WebhookEvent, WebhookEndpoint)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookEvent.endpoint_id))
            .where(col(WebhookEvent.id) == event_id)
        )
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.exec(statement).first()
        return None if row is None else (row[0], row[1])

    def events_of(self, message_id: str) -> list[WebhookEvent]:
        statement = select(WebhookEvent).where(col(WebhookEvent.message_id) == message_id)
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(statement.order_by(col(WebhookEvent.id))))

    def all_events(self) -> list[WebhookEvent]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(WebhookEvent).order_by(col(WebhookEvent.id))))

    def delivered(self, event_id: int, status: int, at: datetime) -> bool:
        """A pending event its receiver took; False when it was not pending any more."""
        return self._update(
            event_id,
            attempts=_EVENTS.c.attempts + 1,
            state=DELIVERED,
            last_status=status,
            last_error=None,
            next_attempt_at=None,
            delivered_at=at,
            updated_at=at,
        )

    def failed(
        self,
        event_id: int,
        status: int | None,
        error: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> bool:
        """A pending event's attempt failed: due again at `next_attempt_at`, or `dead` (None)."""
        return self._update(
            event_id,
            attempts=_EVENTS.c.attempts + 1,
            state=PENDING if next_attempt_at is not None else DEAD,
            last_status=status,
            last_error=error,
            next_attempt_at=next_attempt_at,
            updated_at=at,
        )

    def _update(self, event_id: int, **values: object) -> bool:
        statement = (
            sa.update(_EVENTS)
            .where(_EVENTS.c.id == event_id, _EVENTS.c.state == PENDING)
            .values(**values)
        )
        with self.engine.begin() as connection:
            return bool(connection.execute(statement).rowcount == 1)

    def failures(self, limit: int | None = None) -> list[Failure]:
        endpoints = WebhookEndpoint.__table__  # type: ignore[attr-defined]
        statement = (
            select(WebhookEvent, col(WebhookEndpoint.url))
            .join(endpoints, endpoints.c.id == col(WebhookEvent.endpoint_id))
            .where(col(WebhookEvent.state) == DEAD)
            .order_by(col(WebhookEvent.id))
        )
        if limit is not None:
            statement = statement.limit(limit)
        with Session(self.engine, expire_on_commit=False) as session:
            return [Failure(event, str(url)) for event, url in session.exec(statement)]

    def revive(self, event_ids: Sequence[int] | None, now: datetime) -> list[tuple[int, datetime]]:
        """Dead events (those of `event_ids`, or all when None) pending again, due `now`, with
        a fresh run of retries (back-off and give-up counted from `now`: the payload keeps the
        event's own time); the ids revived with their due time."""
        statement = (
            sa.update(_EVENTS)
            .where(_EVENTS.c.state == DEAD)
            .values(state=PENDING, attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
            .returning(_EVENTS.c.id)
        )
        if event_ids is not None:
            statement = statement.where(_EVENTS.c.id.in_(list(event_ids)))
        with self.engine.begin() as connection:
            return [(int(id_), now) for id_ in connection.execute(statement).scalars()]

    def pending(
        self, updated_since: datetime | None = None, batch: int = 1000
    ) -> Iterator[list[tuple[int, float]]]:
        """Pending events as index entries (id, due time), in batches; only those changed
        since `updated_since`, when given."""
        last_id = 0
        while True:
            statement = (
                sa.select(_EVENTS.c.id, _EVENTS.c.next_attempt_at)
                .where(_EVENTS.c.state == PENDING, _EVENTS.c.id > last_id)
                .order_by(_EVENTS.c.id)
                .limit(batch)
            )
            if updated_since is not None:
                statement = statement.where(_EVENTS.c.updated_at >= updated_since)
            with self.engine.connect() as connection:
                rows = [
                    (int(id_), due.timestamp() if due else 0.0)
                    for id_, due in connection.execute(statement)
                ]
            if rows:
                yield rows
            if len(rows) < batch:
                return
            last_id = rows[-1][0]
