"""The two reads only the live page makes: sends per account and hour, and the newest
replies. Plain SELECTs, grouped in Python, so SQLite and PostgreSQL answer alike."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.api.page.charts import hour_floor
from worker.models import Attempt, ReplyRecord

SEND = "send"  # Attempt.kind of a send request (daily caps count the same rows)


def sends_per_hour(engine: Engine, since: datetime) -> dict[str, dict[datetime, int]]:
    """Send requests started since `since`: account -> the hour's start (UTC) -> count."""
    statement = select(Attempt.account, Attempt.started_at).where(
        col(Attempt.kind) == SEND, col(Attempt.started_at) >= since
    )
    counts: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    with Session(engine) as session:
        for account, started_at in session.exec(statement):
            counts[account][hour_floor(started_at)] += 1
    return {account: dict(by_hour) for account, by_hour in counts.items()}


def newest_replies(engine: Engine, limit: int) -> list[ReplyRecord]:
    """The last `limit` replies recorded, newest first."""
    statement = (
        select(ReplyRecord)
        .order_by(col(ReplyRecord.received_at).desc(), col(ReplyRecord.id).desc())
        .limit(limit)
    )
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(statement))
