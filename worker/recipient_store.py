"""The recipient flags table: who replied (their sequences stop) and who opted out (never
contacted again)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from worker.models import RecipientFlag


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

    def flags(self, recipients: Sequence[str]) -> dict[str, RecipientFlag]:
        if not recipients:
            return {}
        statement = select(RecipientFlag).where(col(RecipientFlag.recipient).in_(recipients))
        with Session(self.engine, expire_on_commit=False) as session:
            return {f.recipient: f for f in session.exec(statement)}
