"""The delivery and attempt tables: every statement that writes, claims or looks them up (the
counts reports make are `delivery_reports`'s). State changes are conditional updates
(`WHERE status = …`), so two processes can never both move a delivery. The campaign and
recipient tables have their own stores (`campaign_store`, `recipient_store`), all on one
engine (`database`)."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from worker.database import among, insert_for
from worker.models import (
    TERMINAL,
    Attempt,
    Campaign,
    CampaignStatus,
    Delivery,
    RecipientFlag,
    Status,
    UTCDateTime,
)
from worker.recipients import parse_recipient
from worker.webhooks.store import OutboxRow, write_outbox

# Statuses that mean a recipient has been, is being or will be contacted.
CONTACTED = (
    Status.WAITING,
    Status.QUEUED,
    Status.SENDING,
    Status.CONFIRMING,
    Status.SENT,
    Status.UNKNOWN,
)


_DELIVERIES: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
_CAMPAIGNS: sa.Table = Campaign.__table__  # type: ignore[attr-defined]
_FLAGS: sa.Table = RecipientFlag.__table__  # type: ignore[attr-defined]
_DELIVERY_COLUMNS = [c.name for c in _DELIVERIES.columns]
_CAMPAIGN_COLUMNS = [c.name for c in _CAMPAIGNS.columns]
_FLAG_COLUMNS = [c.name for c in _FLAGS.columns]
_CAMPAIGN_AT = len(_DELIVERY_COLUMNS)
_FLAG_AT = _CAMPAIGN_AT + len(_CAMPAIGN_COLUMNS)
# Built once: a worker runs it for every send. The primary keys come first in each table, so a
# missing campaign or flag reads as a leading None.
_FOR_SEND = (
    sa.select(*_DELIVERIES.columns, *_CAMPAIGNS.columns, *_FLAGS.columns)
    .select_from(
        _DELIVERIES.outerjoin(_CAMPAIGNS, _CAMPAIGNS.c.name == _DELIVERIES.c.campaign).outerjoin(
            _FLAGS, _FLAGS.c.recipient == _DELIVERIES.c.recipient
        )
    )
    .where(_DELIVERIES.c.id == sa.bindparam("id"))
)


_ATTEMPTS: sa.Table = Attempt.__table__  # type: ignore[attr-defined]
_ATTEMPTED = _DELIVERIES.alias("attempted")  # the deliveries an attempt count joins
_ATTEMPT_COLUMNS = [c.name for c in _ATTEMPTS.columns if c.name != "id"]


def _sends_since(account: Any, since: Any, campaign: Any = None) -> sa.Select[Any]:
    """Count an account's send requests since a moment (in a campaign, when given)."""
    statement = (
        sa.select(sa.func.count())
        .select_from(_ATTEMPTS)
        .where(
            _ATTEMPTS.c.account == account,
            _ATTEMPTS.c.kind == "send",
            _ATTEMPTS.c.started_at >= since,
        )
    )
    if campaign is not None:
        statement = statement.join(_ATTEMPTED, _ATTEMPTED.c.id == _ATTEMPTS.c.delivery_id).where(
            _ATTEMPTED.c.campaign == campaign
        )
    return statement


def _claim_statement(caps: str) -> sa.Update:
    """The claim: queued → sending, one more attempt; `caps` adds the daily caps' checks
    ("" none, "account" the account's, "campaign" the account's and the campaign's)."""
    statement = (
        sa.update(_DELIVERIES)
        .where(_DELIVERIES.c.id == sa.bindparam("p_id"), _DELIVERIES.c.status == Status.QUEUED)
        .values(
            status=Status.SENDING,
            claimed_at=sa.bindparam("p_now"),
            updated_at=sa.bindparam("p_now"),
            attempts=_DELIVERIES.c.attempts + 1,
        )
        .returning(_DELIVERIES.c.attempts)
    )
    account: sa.BindParameter[Any] = sa.bindparam("p_account")
    since: sa.BindParameter[Any] = sa.bindparam("p_since", type_=UTCDateTime())
    if caps:
        statement = statement.where(
            _sends_since(account, since).scalar_subquery() < sa.bindparam("p_cap")
        )
    if caps == "campaign":
        in_campaign = _sends_since(account, since, sa.bindparam("p_campaign")).scalar_subquery()
        statement = statement.where(in_campaign < sa.bindparam("p_campaign_cap"))
    return statement


# Built once: a worker runs these for every send. (Parameters are named p_*: SQLAlchemy
# reserves column names for an UPDATE's own values.)
_CLAIMS = {caps: _claim_statement(caps) for caps in ("", "account", "campaign")}


_RECORD = sa.insert(_ATTEMPTS).values(
    {name: sa.bindparam(f"a_{name}", type_=_ATTEMPTS.c[name].type) for name in _ATTEMPT_COLUMNS}
)


def _move(
    delivery_id: int,
    from_statuses: Sequence[Status],
    changes: Mapping[str, Any],
    attempt: Attempt | None,
    together: bool,
) -> tuple[Any, dict[str, Any]]:
    """The statement that moves a delivery (and, `together`, records `attempt` in it), with
    its parameters: the attempt's too, when there is one."""
    names = tuple(sorted(changes))
    parameters = {f"p_{name}": changes[name] for name in names} | {"p_id": delivery_id}
    if attempt is not None:
        parameters |= {f"a_{name}": getattr(attempt, name) for name in _ATTEMPT_COLUMNS}
    return _move_statement(names, tuple(from_statuses), together), parameters


def _moved_recording(
    connection: Connection, statement: Any, parameters: dict[str, Any], *, record: bool
) -> bool:
    """Move; with `record`, record the attempt in `parameters` whether or not the delivery
    moved (the call was made). Whether it moved."""
    moved = bool(connection.execute(statement, parameters).rowcount == 1)
    if record:
        connection.execute(_RECORD, parameters)
    return moved


@functools.lru_cache(maxsize=512)
def _move_statement(
    names: tuple[str, ...], from_statuses: tuple[Status, ...], together: bool
) -> sa.Executable:
    """The conditional update setting the columns `names`, built once per shape: a worker
    runs one for every outcome. `together`: with the attempt's insert, in one statement
    (PostgreSQL), counting the rows moved."""
    values = {name: sa.bindparam(f"p_{name}", type_=_DELIVERIES.c[name].type) for name in names}
    update = (
        sa.update(_DELIVERIES)
        .where(_DELIVERIES.c.id == sa.bindparam("p_id"), _DELIVERIES.c.status.in_(from_statuses))
        .values(values)
    )
    if not together:
        return update
    moved = update.returning(_DELIVERIES.c.id).cte("moved")
    return sa.select(sa.func.count()).select_from(moved).add_cte(_RECORD.cte("recorded"))


@dataclass(frozen=True)
class DailyCaps:
    """How many sends `account` may make from `since` (its local midnight): `cap` in all,
    and `campaign_cap` in `campaign` when that campaign has a cap of its own."""

    account: str
    since: datetime
    cap: int
    campaign: str | None = None
    campaign_cap: int | None = None

    def claim_statement(self) -> tuple[sa.Update, dict[str, Any]]:
        """The claim that only succeeds while one more send stays within the caps."""
        parameters = {"p_account": self.account, "p_since": self.since, "p_cap": self.cap}
        if self.campaign is None or self.campaign_cap is None:
            return _CLAIMS["account"], parameters
        parameters |= {"p_campaign": self.campaign, "p_campaign_cap": self.campaign_cap}
        return _CLAIMS["campaign"], parameters


@dataclass(frozen=True)
class Stored:
    """A delivery row as an insert left it: new, or the one already there with its key."""

    id: int
    idempotency_key: str
    account: str
    status: Status
    due_at: datetime
    created: bool


class DeliveryStore:
    """The delivery and attempt tables."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_schema(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    def drop_schema(self) -> None:
        SQLModel.metadata.drop_all(self.engine)

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> list[Stored]:
        """Insert delivery `rows` (column values) in one statement, skipping those whose
        idempotency key exists; for each row, in order, the delivery as stored."""
        if not rows:
            return []
        insert = insert_for(self.engine.dialect.name)(_DELIVERIES)
        statement = insert.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(
            _DELIVERIES.c.id, _DELIVERIES.c.idempotency_key
        )
        with self.engine.begin() as connection:
            created = {key: id_ for id_, key in connection.execute(statement, list(rows))}
        missing = [row["idempotency_key"] for row in rows if row["idempotency_key"] not in created]
        known = {stored.idempotency_key: stored for stored in self._stored(missing)}
        result: list[Stored] = []
        for row in rows:
            key = row["idempotency_key"]
            id_ = created.pop(key, None)  # a key twice in `rows` is created once
            if id_ is not None:
                known[key] = Stored(id_, key, row["account"], row["status"], row["due_at"], False)
                result.append(replace(known[key], created=True))
            else:
                result.append(known[key])
        return result

    def _stored(self, keys: Sequence[str]) -> list[Stored]:
        if not keys:
            return []
        table = _DELIVERIES.c
        statement = sa.select(
            table.id, table.idempotency_key, table.account, table.status, table.due_at
        ).where(table.idempotency_key.in_(keys))
        with self.engine.connect() as connection:
            return [Stored(*row, created=False) for row in connection.execute(statement)]

    def get(self, delivery_id: int) -> Delivery | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(Delivery, delivery_id)

    def for_send(
        self, delivery_id: int
    ) -> tuple[Delivery, Campaign | None, RecipientFlag | None] | None:
        """What a worker reads before a send, in one statement: the delivery, its campaign
        and what its recipient told us."""
        with self._autocommit() as connection:
            row = connection.execute(_FOR_SEND, {"id": delivery_id}).first()
        if row is None:
            return None
        delivery = Delivery(**dict(zip(_DELIVERY_COLUMNS, row[:_CAMPAIGN_AT], strict=True)))
        campaign_values = row[_CAMPAIGN_AT:_FLAG_AT]
        flag_values = row[_FLAG_AT:]
        campaign = None
        if campaign_values[0] is not None:
            campaign = Campaign(**dict(zip(_CAMPAIGN_COLUMNS, campaign_values, strict=True)))
        flag = None
        if flag_values[0] is not None:
            flag = RecipientFlag(**dict(zip(_FLAG_COLUMNS, flag_values, strict=True)))
        return delivery, campaign, flag

    def move(
        self,
        delivery_id: int,
        from_statuses: Sequence[Status],
        changes: Mapping[str, Any],
        *,
        attempt: Attempt | None = None,
    ) -> bool:
        """Apply `changes` only if the delivery is in one of `from_statuses`; True if it was.
        `attempt`, the provider call that led here, is recorded in the same transaction
        whether or not the delivery moved: the call was made."""
        together = attempt is not None and self.engine.dialect.name == "postgresql"
        statement, parameters = _move(delivery_id, from_statuses, changes, attempt, together)
        if together:
            with self._autocommit() as connection:
                return int(connection.execute(statement, parameters).scalar_one()) == 1
        if attempt is None:
            with self._autocommit() as connection:
                return connection.execute(statement, parameters).rowcount == 1
        with self.engine.begin() as connection:
            return _moved_recording(connection, statement, parameters, record=True)

    def move_announcing(
        self,
        delivery_id: int,
        from_statuses: Sequence[Status],
        changes: Mapping[str, Any],
        *,
        attempt: Attempt | None = None,
        outbox: Sequence[OutboxRow],
    ) -> list[int] | None:
        """`move`, writing the webhook events `outbox` in the same transaction when the
        delivery moved: the ids of the events written (to index once committed), or None when
        it did not move. With no events this is `move`, and costs what it does."""
        if not outbox:
            return [] if self.move(delivery_id, from_statuses, changes, attempt=attempt) else None
        statement, parameters = _move(delivery_id, from_statuses, changes, attempt, False)
        with self.engine.begin() as connection:
            moved = _moved_recording(connection, statement, parameters, record=attempt is not None)
            return write_outbox(connection, outbox) if moved else None

    def claim(
        self,
        delivery_id: int,
        now: datetime,
        *,
        caps: DailyCaps | None = None,
        read: Delivery | None = None,
    ) -> Delivery | None:
        """Move a queued delivery to `sending`, in one statement, and return it as it now is;
        None if someone else has it, or if sending it would go over `caps`. `read` is the
        delivery as the caller read it, to return updated rather than read again."""
        statement, parameters = _CLAIMS[""], dict[str, Any]()
        if caps is not None:
            statement, parameters = caps.claim_statement()
        with self._autocommit() as connection:
            claimed = connection.execute(
                statement, {**parameters, "p_id": delivery_id, "p_now": now}
            )
            attempts = claimed.scalar()
        if attempts is None:
            return None
        if read is None:
            return self.get(delivery_id)
        changes = {"status": Status.SENDING, "claimed_at": now, "updated_at": now}
        return read.model_copy(update={**changes, "attempts": attempts})

    @contextmanager
    def _autocommit(self) -> Iterator[Connection]:
        """A connection for one statement that commits by itself. On a server that costs one
        round trip, with no BEGIN and COMMIT around it; SQLite's are in-process anyway."""
        if self.engine.dialect.name != "postgresql":
            with self.engine.begin() as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    def record(self, attempt: Attempt) -> None:
        """Record a provider call that moved no delivery (a read before a follow-up)."""
        parameters = {f"a_{name}": getattr(attempt, name) for name in _ATTEMPT_COLUMNS}
        with self._autocommit() as connection:
            connection.execute(_RECORD, parameters)

    def attempts_of(self, delivery_id: int) -> list[Attempt]:
        with Session(self.engine) as session:
            statement = select(Attempt).where(Attempt.delivery_id == delivery_id)
            return list(session.exec(statement.order_by(col(Attempt.id))))

    def find(
        self,
        *,
        campaign: str | None = None,
        status: str | None = None,
        account: str | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        statement = select(Delivery)
        if campaign is not None:
            statement = statement.where(Delivery.campaign == campaign)
        if status is not None:
            statement = statement.where(Delivery.status == status)
        if account is not None:
            statement = statement.where(Delivery.account == account)
        statement = statement.order_by(col(Delivery.id))
        if limit is not None:
            statement = statement.limit(limit)
        with Session(self.engine) as session:
            return list(session.exec(statement))

    def newest(
        self,
        *,
        campaign: str | None = None,
        status: str | None = None,
        account: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """A page of deliveries, newest first, older than `before_id` if given (a cursor that
        stays valid while new rows arrive)."""
        statement = select(Delivery)
        if campaign is not None:
            statement = statement.where(Delivery.campaign == campaign)
        if status is not None:
            statement = statement.where(Delivery.status == status)
        if account is not None:
            statement = statement.where(Delivery.account == account)
        if before_id is not None:
            statement = statement.where(col(Delivery.id) < before_id)
        statement = statement.order_by(col(Delivery.id).desc()).limit(limit)
        with Session(self.engine) as session:
            return list(session.exec(statement))

    def in_status(
        self, statuses: Sequence[Status], batch: int = 1000, campaign: str | None = None
    ) -> Iterator[Delivery]:
        """Every delivery in `statuses` (of `campaign`, if given), read in batches."""
        last_id = 0
        while True:
            statement = (
                select(Delivery)
                .where(col(Delivery.status).in_(statuses), col(Delivery.id) > last_id)
                .order_by(col(Delivery.id))
                .limit(batch)
            )
            if campaign is not None:
                statement = statement.where(col(Delivery.campaign) == campaign)
            with Session(self.engine) as session:
                rows = list(session.exec(statement))
            yield from rows
            if len(rows) < batch:
                return
            last_id = rows[-1].id or last_id

    def sends_since(self, account: str, since: datetime, campaign: str | None = None) -> int:
        """How many send requests `account` has made since `since`, in `campaign` if given
        (daily caps count these)."""
        with self.engine.connect() as connection:
            return int(connection.execute(_sends_since(account, since, campaign)).scalar_one())

    def stranded_steps(self, ended_before: datetime, limit: int = 500) -> list[Delivery]:
        """Steps that ended before `ended_before` while their follow-up still waits: a worker
        stopped between recording the end and carrying it into the sequence."""
        previous = aliased(Delivery)
        follow_up = aliased(Delivery)
        statement = (
            select(previous)
            .join(
                follow_up,
                sa.and_(
                    col(follow_up.campaign) == col(previous.campaign),
                    col(follow_up.recipient) == col(previous.recipient),
                    col(follow_up.step) == col(previous.step) + 1,
                ),
            )
            .where(
                col(follow_up.status) == Status.WAITING,
                col(previous.status).in_(list(TERMINAL)),
                col(previous.updated_at) < ended_before,
            )
            .limit(limit)
        )
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(statement))

    def previous_step(self, delivery: Delivery) -> Delivery | None:
        """The step of `delivery`'s sequence just before it."""
        statement = select(Delivery).where(
            Delivery.campaign == delivery.campaign,
            Delivery.recipient == delivery.recipient,
            Delivery.step == delivery.step - 1,
        )
        with Session(self.engine, expire_on_commit=False) as session:
            return session.exec(statement).first()

    def sent_steps(
        self, account: str, sent_since: datetime, *, named: Collection[str] | None = None
    ) -> list[Delivery]:
        """`account`'s campaign steps sent since `sent_since`: whom a reply could come from;
        with `named`, only those to recipients one of whose steps has one of these as its
        recipient, recipient URN or conversation id (so an inbox page reads its own few)."""
        sent = (
            col(Delivery.account) == account,
            col(Delivery.campaign).is_not(None),
            col(Delivery.status) == Status.SENT,
            col(Delivery.sent_at) >= sent_since,
        )
        statement = select(Delivery).where(*sent)
        with Session(self.engine, expire_on_commit=False) as session:
            if named is not None:
                # Two statements: as one (IN a subquery) PostgreSQL planned a nested loop.
                names = list(named)
                matching = sa.select(col(Delivery.recipient)).where(
                    *sent,
                    sa.or_(
                        col(Delivery.recipient).in_(names),
                        col(Delivery.recipient_urn).in_(names),
                        col(Delivery.conversation_id).in_(names),
                    ),
                )
                recipients = list(set(session.connection().execute(matching).scalars()))
                if not recipients:
                    return []
                statement = statement.where(col(Delivery.recipient).in_(recipients))
            return list(session.exec(statement))

    def oldest_sent_step(self, account: str, sent_since: datetime) -> datetime | None:
        """When `account`'s oldest campaign step sent since `sent_since` went out; None when
        there is none (its inbox holds no reply outreach waits for)."""
        statement = sa.select(sa.func.min(col(Delivery.sent_at))).where(
            col(Delivery.account) == account,
            col(Delivery.campaign).is_not(None),
            col(Delivery.status) == Status.SENT,
            col(Delivery.sent_at) >= sent_since,
        )
        with self.engine.connect() as connection:
            oldest: datetime | None = connection.execute(statement).scalar()  # min keeps the type
        return oldest

    def accounts_with_sent_steps(self, sent_since: datetime) -> list[str]:
        """The accounts whose inboxes may hold replies: campaign steps sent since then."""
        statement = (
            sa.select(col(Delivery.account))
            .where(
                col(Delivery.campaign).is_not(None),
                col(Delivery.status) == Status.SENT,
                col(Delivery.sent_at) >= sent_since,
            )
            .distinct()
        )
        with self.engine.connect() as connection:
            return [str(a) for (a,) in connection.execute(statement)]

    def steps_of(self, recipient: str, campaign: str | None = None) -> list[Delivery]:
        """Every campaign step to `recipient` (in `campaign`, if given), by campaign and step."""
        statement = select(Delivery).where(
            Delivery.recipient == recipient, col(Delivery.campaign).is_not(None)
        )
        if campaign is not None:
            statement = statement.where(Delivery.campaign == campaign)
        statement = statement.order_by(col(Delivery.campaign), col(Delivery.step))
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(statement))

    def next_step(self, delivery: Delivery) -> Delivery | None:
        """The follow-up waiting for `delivery` to be sent, if any."""
        statement = select(Delivery).where(
            Delivery.campaign == delivery.campaign,
            Delivery.recipient == delivery.recipient,
            Delivery.step == delivery.step + 1,
            Delivery.status == Status.WAITING,
        )
        with Session(self.engine, expire_on_commit=False) as session:
            return session.exec(statement).first()

    def cancel_pending(
        self,
        *,
        recipient: str,
        reason: str,
        campaign: str | None = None,
        after_step: int | None = None,
        status: Status = Status.CANCELLED,
    ) -> int:
        """Stop what is still to be sent to `recipient` (in `campaign`, after `after_step`)."""
        statement = sa.update(Delivery).where(
            col(Delivery.recipient) == recipient,
            col(Delivery.status).in_([Status.WAITING, Status.QUEUED]),
        )
        if campaign is not None:
            statement = statement.where(col(Delivery.campaign) == campaign)
        if after_step is not None:
            statement = statement.where(col(Delivery.step) > after_step)
        statement = statement.values(status=status, error=reason, updated_at=sa.func.now())
        with self.engine.begin() as connection:
            return int(connection.execute(statement).rowcount)

    def reopen_stopped(self, delivery: Delivery, reason: str) -> int:
        """Undo `cancel_pending` for the steps after `delivery` in its sequence that it
        cancelled with `reason`: they wait again for the step before them."""
        statement = (
            sa.update(Delivery)
            .where(
                col(Delivery.recipient) == delivery.recipient,
                col(Delivery.campaign) == delivery.campaign,
                col(Delivery.step) > delivery.step,
                col(Delivery.status) == Status.CANCELLED,
                col(Delivery.error) == reason,
            )
            .values(status=Status.WAITING, error=None, updated_at=sa.func.now())
        )
        with self.engine.begin() as connection:
            return int(connection.execute(statement).rowcount)

    def cancel_campaign(self, campaign: str) -> int:
        statement = (
            sa.update(Delivery)
            .where(
                col(Delivery.campaign) == campaign,
                col(Delivery.status).in_([Status.WAITING, Status.QUEUED]),
            )
            .values(status=Status.CANCELLED, error="campaign cancelled", updated_at=sa.func.now())
        )
        with self.engine.begin() as connection:
            return int(connection.execute(statement).rowcount)

    def contacted(self, recipients: Sequence[str]) -> set[str]:
        """Which of `recipients` this tool has contacted, or has a send under way or planned
        for. A profile URN is one person with the profile URL a send answer named by that
        URN (`recipient_urn`): found either way."""
        if not recipients:
            return set()
        by_urn: dict[str, list[str]] = {}  # the URN form send answers record -> as given here
        for recipient in recipients:
            if not recipient.startswith("urn:"):  # canonical URLs and public ids have no id
                continue
            member_id = parse_recipient(recipient).member_id
            if member_id:
                by_urn.setdefault(f"urn:li:fsd_profile:{member_id}", []).append(recipient)
        dialect = self.engine.dialect.name
        statement = sa.select(
            col(Delivery.recipient), col(Delivery.recipient_urn), col(Delivery.status)
        ).where(
            sa.or_(
                among(col(Delivery.recipient), recipients, dialect),
                among(col(Delivery.recipient_urn), list(by_urn), dialect),
            )
        )
        wanted = set(recipients)
        found = set()
        with self._by_recipient() as connection:
            for recipient, urn, status in connection.execute(statement):
                if status not in CONTACTED:
                    continue
                if recipient in wanted:
                    found.add(str(recipient))
                if urn is not None:
                    found.update(by_urn.get(urn, ()))
        return found

    def in_campaign(self, campaign: str, recipients: Sequence[str]) -> set[str]:
        """Which of `recipients` campaign `campaign` already has, whatever became of them."""
        if not recipients:
            return set()
        statement = sa.select(
            col(Delivery.recipient), col(Delivery.campaign), col(Delivery.step)
        ).where(among(col(Delivery.recipient), recipients, self.engine.dialect.name))
        with self._by_recipient() as connection:
            return {
                str(recipient)
                for recipient, in_which, step in connection.execute(statement)
                if in_which == campaign and step == 0
            }

    @contextmanager
    def _by_recipient(self) -> Iterator[Connection]:
        """A connection for a lookup of a batch of recipients, through their indexes. While an
        import writes, the planner's statistics do not count its rows (not yet committed,
        but in the table): it then scanned the whole table, or every queued row through the
        status index, once per batch (280 ms a batch after a million rows, measured). The
        caller filters on anything else in Python, so no other index can be chosen."""
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            yield connection

    def queue_entries(
        self,
        campaign: str | None = None,
        batch: int = 5000,
        updated_since: datetime | None = None,
    ) -> Iterator[list[tuple[str, int, float]]]:
        """Queued deliveries that belong in Redis (not those of a paused campaign, which
        resuming indexes) as index entries (account, id, due time), in batches: only the three
        columns, not whole rows."""
        table = SQLModel.metadata.tables["deliveries"]
        paused = sa.select(col(Campaign.name)).where(col(Campaign.status) == CampaignStatus.PAUSED)
        last_id = 0
        while True:
            statement = (
                sa.select(table.c.account, table.c.id, table.c.due_at)
                .where(col(Delivery.status) == Status.QUEUED, col(Delivery.id) > last_id)
                .where(
                    sa.or_(col(Delivery.campaign).is_(None), col(Delivery.campaign).not_in(paused))
                )
                .order_by(col(Delivery.id))
                .limit(batch)
            )
            if campaign is not None:
                statement = statement.where(col(Delivery.campaign) == campaign)
            if updated_since is not None:
                statement = statement.where(col(Delivery.updated_at) >= updated_since)
            with self.engine.connect() as connection:
                rows = [(a, i, due.timestamp()) for a, i, due in connection.execute(statement)]
            if rows:
                yield rows
            if len(rows) < batch:
                return
            last_id = rows[-1][1]

    def last_send_started(self) -> dict[str, datetime]:
        """Per account, when its latest send request started: pacing's memory after a Redis loss."""
        statement = (
            sa.select(col(Attempt.account), sa.func.max(col(Attempt.started_at)))
            .where(col(Attempt.kind) == "send")
            .group_by(col(Attempt.account))
        )
        with Session(self.engine) as session:
            return {account: started for account, started in session.execute(statement)}
