"""What reports count in the delivery table: a campaign's steps by status, what each account
still has to send, what was sent per step, account and A/B variant, and each account's day.
Read only, on the engine the stores share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from worker.models import Delivery, ReplyRecord, Status


@dataclass(frozen=True)
class AccountCounts:
    account: str
    queued: int
    in_progress: int
    sent_today: int
    failed: int
    unknown: int


class DeliveryReports:
    def __init__(self, engine: Engine):
        self.engine = engine

    def step_counts(self, campaign: str) -> list[tuple[int, str, int]]:
        statement = (
            sa.select(col(Delivery.step), col(Delivery.status), sa.func.count())
            .where(col(Delivery.campaign) == campaign)
            .group_by(col(Delivery.step), col(Delivery.status))
            .order_by(col(Delivery.step), col(Delivery.status))
        )
        with Session(self.engine) as session:
            return [(int(a), str(b), int(c)) for a, b, c in session.execute(statement)]

    def pending_by_account(self, campaign: str) -> dict[str, int]:
        """Per account, the campaign's sends still to make (queued or waiting)."""
        statement = (
            sa.select(col(Delivery.account), sa.func.count())
            .where(
                col(Delivery.campaign) == campaign,
                col(Delivery.status).in_([Status.QUEUED, Status.WAITING]),
            )
            .group_by(col(Delivery.account))
        )
        with Session(self.engine) as session:
            return {str(a): int(n) for a, n in session.execute(statement)}

    def waiting_delays(self, campaign: str) -> dict[int, float]:
        """Per follow-up step still waiting somewhere, its delay after the step before."""
        statement = (
            sa.select(col(Delivery.step), sa.func.max(col(Delivery.after_s)))
            .where(col(Delivery.campaign) == campaign, col(Delivery.status) == Status.WAITING)
            .group_by(col(Delivery.step))
        )
        with Session(self.engine) as session:
            return {int(step): float(after or 0) for step, after in session.execute(statement)}

    def sent_by(self, campaign: str) -> dict[tuple[int, str], int]:
        """Per (step, account), how many of the campaign's steps were sent."""
        statement = (
            sa.select(col(Delivery.step), col(Delivery.account), sa.func.count())
            .where(col(Delivery.campaign) == campaign, col(Delivery.status) == Status.SENT)
            .group_by(col(Delivery.step), col(Delivery.account))
        )
        with self.engine.connect() as connection:
            return {(int(s), str(a)): int(n) for s, a, n in connection.execute(statement)}

    def variant_counts(self, campaign: str) -> dict[tuple[int, str], tuple[int, int]]:
        """Per (step, A/B variant): how many were sent, and how many of their recipients
        replied after that step (before the next one was sent)."""
        replied = (
            sa.select(col(ReplyRecord.recipient))
            .where(
                col(ReplyRecord.campaign) == campaign,
                col(ReplyRecord.recipient) == col(Delivery.recipient),
                col(ReplyRecord.step) == col(Delivery.step),
            )
            .exists()
        )
        statement = (
            sa.select(
                col(Delivery.step),
                col(Delivery.variant),
                sa.func.count(),
                sa.func.sum(sa.case((replied, 1), else_=0)),
            )
            .where(
                col(Delivery.campaign) == campaign,
                col(Delivery.variant).is_not(None),
                col(Delivery.status) == Status.SENT,
            )
            .group_by(col(Delivery.step), col(Delivery.variant))
        )
        with self.engine.connect() as connection:
            return {
                (int(s), str(v)): (int(n), int(r or 0))
                for s, v, n, r in connection.execute(statement)
            }

    def account_counts(self, now: datetime) -> list[AccountCounts]:
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        status = col(Delivery.status)
        in_progress = status.in_([Status.SENDING, Status.CONFIRMING])
        sent_today = sa.and_(status == Status.SENT, col(Delivery.sent_at) >= day_start)

        def count(condition: Any) -> Any:
            return sa.func.sum(sa.case((condition, 1), else_=0))

        statement = (
            sa.select(
                col(Delivery.account),
                count(status == Status.QUEUED),
                count(in_progress),
                count(sent_today),
                count(status == Status.FAILED),
                count(status == Status.UNKNOWN),
            )
            .group_by(col(Delivery.account))
            .order_by(col(Delivery.account))
        )
        with Session(self.engine) as session:
            return [
                AccountCounts(row[0], *(int(v or 0) for v in row[1:]))
                for row in session.execute(statement)
            ]
