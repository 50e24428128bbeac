"""The recipient flags and replies tables: who replied (their sequences stop), who opted out
(never contacted again), and each reply recorded, with how it was found."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from worker.database import among, insert_for
from worker.models import REPLY_TEXT_CHARS, RecipientFlag, ReplyHow, ReplyRecord
from worker.webhooks.store import OutboxRow, write_outbox

REPLY_BATCH = 500  # rows per INSERT: 10 parameters each, well under SQLite's limit


@dataclass(frozen=True)
class NewReply:
    """A reply to record: who answered, through which account and campaign, and when."""

    recipient: str
    received_at: datetime
    how: ReplyHow
    account: str | None = None
    campaign: str | None = None
    step: int | None = None
    conversation: str | None = None
    text: str = ""

    @property
    def key(self) -> str:
        """The same answer found twice (before a follow-up and by the sweep) is one row."""
        parts = [self.recipient, self.account or "", self.campaign or ""]
        parts.append(self.received_at.isoformat(timespec="seconds"))
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# The webhook events (outbox rows) for the replies that were new.
Announce = Callable[[Sequence[NewReply]], Sequence[OutboxRow]]


class Recorded(NamedTuple):
    """What recording replies wrote: how many were new, and the webhook events' ids."""

    recorded: int
    events: list[int]


@dataclass(frozen=True)
class ReplyCounts:
    """A campaign's replies: distinct recipients per step replied to, and per account."""

    by_step: dict[int, int]  # 0-based step; -1 for replies whose step is not known
    by_account: dict[str, int]


class RecipientStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def flag(
        self,
        recipient: str,
        *,
        replied_at: datetime | None = None,
        opted_out_at: datetime | None = None,
    ) -> None:
        with Session(self.engine) as session:
            row = session.get(RecipientFlag, recipient) or RecipientFlag(recipient=recipient)
            row.replied_at = replied_at or row.replied_at
            row.opted_out_at = opted_out_at or row.opted_out_at
            session.add(row)
            session.commit()

    def unflag_replied(self, recipient: str) -> bool:
        """Forget a "replied" mark; True when there was one."""
        statement = (
            sa.update(RecipientFlag)
            .where(
                col(RecipientFlag.recipient) == recipient,
                col(RecipientFlag.replied_at).is_not(None),
            )
            .values(replied_at=None)
        )
        with self.engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def flags(self, recipients: Sequence[str]) -> dict[str, RecipientFlag]:
        if not recipients:
            return {}
        dialect = self.engine.dialect.name
        statement = select(RecipientFlag).where(
            among(col(RecipientFlag.recipient), recipients, dialect)
        )
        with Session(self.engine, expire_on_commit=False) as session:
            return {f.recipient: f for f in session.exec(statement)}

    def record_replies(self, replies: Sequence[NewReply], now: datetime) -> int:
        """Record each reply once; returns how many were new."""
        return self.record_replies_announcing(replies, now).recorded

    def record_replies_announcing(
        self, replies: Sequence[NewReply], now: datetime, announce: Announce | None = None
    ) -> Recorded:
        """Record each reply once and, in the same transaction, the webhook events
        `announce` makes of the replies that were new."""
        if not replies:
            return Recorded(0, [])
        rows = [
            {
                "key": reply.key,
                "recipient": reply.recipient,
                "account": reply.account,
                "campaign": reply.campaign,
                "step": reply.step,
                "conversation": reply.conversation,
                "received_at": reply.received_at,
                "text": reply.text[:REPLY_TEXT_CHARS],
                "how": reply.how,
                "recorded_at": now,
            }
            for reply in replies
        ]
        insert = insert_for(self.engine.dialect.name)
        created: set[str] = set()
        with self.engine.begin() as connection:
            # RETURNING names the rows that were new (rowcount is -1 under psycopg here).
            for start in range(0, len(rows), REPLY_BATCH):
                statement = (
                    insert(ReplyRecord)
                    .values(rows[start : start + REPLY_BATCH])
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(col(ReplyRecord.key))
                )
                created.update(connection.execute(statement).scalars())
            events: list[int] = []
            if announce is not None and created:
                new = list({r.key: r for r in replies if r.key in created}.values())
                events = write_outbox(connection, announce(new))
        return Recorded(len(created), events)

    def replies(
        self,
        *,
        campaign: str | None = None,
        account: str | None = None,
        since: datetime | None = None,
        recipient: str | None = None,
        limit: int | None = None,
    ) -> list[ReplyRecord]:
        statement = select(ReplyRecord).order_by(col(ReplyRecord.received_at), col(ReplyRecord.id))
        if campaign is not None:
            statement = statement.where(col(ReplyRecord.campaign) == campaign)
        if account is not None:
            statement = statement.where(col(ReplyRecord.account) == account)
        if since is not None:
            statement = statement.where(col(ReplyRecord.received_at) >= since)
        if recipient is not None:
            statement = statement.where(col(ReplyRecord.recipient) == recipient)
        if limit is not None:
            statement = statement.limit(limit)
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(statement))

    def forget_replies(self, recipient: str, campaign: str | None = None) -> int:
        """Delete `recipient`'s recorded replies (in `campaign` only, if given)."""
        statement = sa.delete(ReplyRecord).where(col(ReplyRecord.recipient) == recipient)
        if campaign is not None:
            statement = statement.where(col(ReplyRecord.campaign) == campaign)
        with self.engine.begin() as connection:
            return int(connection.execute(statement).rowcount)

    def reply_counts(self, campaign: str) -> ReplyCounts:
        """Distinct recipients who replied in `campaign`, per step and per account."""
        recipients = sa.func.count(sa.distinct(col(ReplyRecord.recipient)))
        where = col(ReplyRecord.campaign) == campaign
        by_step = (
            sa.select(col(ReplyRecord.step), recipients)
            .where(where)
            .group_by(col(ReplyRecord.step))
        )
        by_account = (
            sa.select(col(ReplyRecord.account), recipients)
            .where(where)
            .group_by(col(ReplyRecord.account))
        )
        with self.engine.connect() as connection:
            steps = {
                -1 if step is None else int(step): int(n) for step, n in connection.execute(by_step)
            }
            accounts = {str(account or ""): int(n) for account, n in connection.execute(by_account)}
        return ReplyCounts(steps, accounts)

    def replied_recipients(self, campaign: str) -> int:
        statement = sa.select(sa.func.count(sa.distinct(col(ReplyRecord.recipient)))).where(
            col(ReplyRecord.campaign) == campaign
        )
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())
