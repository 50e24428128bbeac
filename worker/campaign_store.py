"""The campaigns table: a campaign's settings as started, and its status."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from worker.bulk_deliveries import BulkDeliveries
from worker.errors import ImportInProgressError
from worker.models import Campaign, CampaignStatus, MediaRecord
from worker.providers.base import MediaFile

ANALYZE_AFTER_ROWS = 10_000
# PostgreSQL advisory lock an import holds for its transaction: each checks who was already
# contacted against what is committed, so two at once could both take one person. A second
# import is refused at once, not made to wait (holding a connection and, in the API, a
# thread, for as long as the first takes). SQLite's one write lock already keeps it out.
IMPORT_LOCK = 0x6F75747265616368  # "outreach"


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

    @contextmanager
    def importing(
        self,
        campaign: Campaign | None = None,
        media: Sequence[MediaRecord] = (),
        *,
        adding_to: str | None = None,
    ) -> Iterator[BulkDeliveries]:
        """One transaction for a whole import: a new `campaign` row and its files (or, when
        `adding_to` one, its row held until the commit), then the delivery rows written
        through the yielded bulk writer. An exception leaves nothing written. One import at a
        time (`IMPORT_LOCK`): a second is refused with `ImportInProgressError`."""
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                lock = sa.text("SELECT pg_try_advisory_xact_lock(:key)")
                if not connection.execute(lock, {"key": IMPORT_LOCK}).scalar_one():
                    raise ImportInProgressError
            if campaign is not None:
                connection.execute(sa.insert(Campaign).values(**campaign.model_dump()))
                refs = [record.ref for record in media]
                known = sa.select(col(MediaRecord.ref)).where(col(MediaRecord.ref).in_(refs))
                stored = {r for (r,) in connection.execute(known)} if refs else set()
                for record in media:
                    if record.ref not in stored:
                        connection.execute(sa.insert(MediaRecord).values(**record.model_dump()))
            if adding_to is not None:
                touched = (
                    sa.update(Campaign)
                    .where(col(Campaign.name) == adding_to)
                    .values(updated_at=sa.func.now())
                )
                connection.execute(touched)
            writer = BulkDeliveries(connection)
            try:
                yield writer
                writer.finish()
            finally:
                writer.stop()  # the commit or the rollback has the connection to itself
        if writer.written >= ANALYZE_AFTER_ROWS and self.engine.dialect.name == "postgresql":
            # The planner's statistics still describe the table before the load; queries
            # right after it (indexing what is queued, the next import's checks) would scan.
            with self.engine.connect() as connection:
                connection.execute(sa.text("ANALYZE deliveries"))
                connection.commit()

    def media(self, ref: str) -> MediaFile:
        """A stored file; KeyError when a delivery refers to one that is not there."""
        with Session(self.engine) as session:
            record = session.get(MediaRecord, ref)
            if record is None:
                raise KeyError(f"no stored file {ref}")
            return MediaFile.from_base64(record.data_base64, record.content_type)
