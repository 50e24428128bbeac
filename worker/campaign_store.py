"""The campaigns table: a campaign's settings as started, and its status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from worker.models import Campaign, CampaignStatus, Delivery, MediaRecord
from worker.providers.base import MediaFile


class CampaignStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, name: str) -> Campaign | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(Campaign, name)

    def all(self) -> list[Campaign]:
        with Session(self.engine) as session:
            return list(session.exec(select(Campaign).order_by(col(Campaign.created_at))))

    def set_status(
        self, name: str, status: CampaignStatus, from_statuses: Sequence[CampaignStatus]
    ) -> bool:
        statement = (
            sa.update(Campaign)
            .where(col(Campaign.name) == name, col(Campaign.status).in_(from_statuses))
            .values(status=status, updated_at=sa.func.now())
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def write(
        self,
        campaign: Campaign,
        batches: Iterable[list[dict[str, Any]]],
        media: Sequence[MediaRecord] = (),
    ) -> int:
        """The campaign row, its files and all its delivery rows, in one transaction; returns
        the count of deliveries."""
        with self.engine.begin() as connection:
            connection.execute(sa.insert(Campaign).values(**campaign.model_dump()))
            refs = [record.ref for record in media]
            known = sa.select(col(MediaRecord.ref)).where(col(MediaRecord.ref).in_(refs))
            stored = {r for (r,) in connection.execute(known)} if refs else set()
            for record in media:
                if record.ref not in stored:
                    connection.execute(sa.insert(MediaRecord).values(**record.model_dump()))
            return _insert(connection, batches)

    def add(self, name: str, batches: Iterable[list[dict[str, Any]]]) -> int:
        """More delivery rows for campaign `name`, in one transaction; returns the count."""
        with self.engine.begin() as connection:
            touched = (
                sa.update(Campaign)
                .where(col(Campaign.name) == name)
                .values(updated_at=sa.func.now())
            )
            connection.execute(touched)  # and holds the campaign's row until the commit
            return _insert(connection, batches)

    def media(self, ref: str) -> MediaFile:
        """A stored file; KeyError when a delivery refers to one that is not there."""
        with Session(self.engine) as session:
            record = session.get(MediaRecord, ref)
            if record is None:
                raise KeyError(f"no stored file {ref}")
            return MediaFile.from_base64(record.data_base64, record.content_type)


def _insert(connection: Connection, batches: Iterable[list[dict[str, Any]]]) -> int:
    written = 0
    for rows in batches:
        if rows:
            connection.execute(sa.insert(Delivery), rows)
            written += len(rows)
    return written
