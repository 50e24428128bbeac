"""Profile URLs resolved to URNs (OutX Fetch Profile), once per profile: the `profile_urns`
table. A profile is fetched at most once; later deliveries to it read the answer here, the URN
or why it could not be resolved, and make no call. Shares the runtime's one engine."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from worker.database import insert_for
from worker.models import Delivery, ProfileUrn, Status

_PROFILES: sa.Table = ProfileUrn.__table__  # type: ignore[attr-defined]


class ProfileStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, recipient: str) -> ProfileUrn | None:
        """What is known of the profile `recipient` (its canonical URL): None when nothing."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(ProfileUrn, recipient)

    def remember(
        self, recipient: str, at: datetime, *, urn: str | None = None, error: str | None = None
    ) -> ProfileUrn:
        """Record the answer for `recipient`, a URN or why there is none; the first answer
        recorded stays (two fetches that raced say the same thing, or the first one wins).
        The answer now on record."""
        if (urn is None) == (error is None):
            raise ValueError("a profile's answer is a URN or an error, not both or neither")
        insert = insert_for(self.engine.dialect.name)(_PROFILES).values(
            recipient=recipient, urn=urn, error=error, resolved_at=at
        )
        with self.engine.begin() as connection:
            connection.execute(insert.on_conflict_do_nothing(index_elements=["recipient"]))
        kept = self.get(recipient)
        assert kept is not None
        return kept

    def forget(self, recipient: str) -> bool:
        """Drop what is recorded for `recipient` (its next delivery fetches it again)."""
        statement = sa.delete(_PROFILES).where(_PROFILES.c.recipient == recipient)
        with self.engine.begin() as connection:
            return bool(connection.execute(statement).rowcount)

    def fetch_under_way(self, recipient: str, besides: int) -> int | None:
        """Another delivery to `recipient` waiting for its profile fetch, if any (its id): a
        `confirming` delivery to a profile URL with no URN yet is waiting for a fetch task."""
        statement = (
            sa.select(col(Delivery.id))
            .where(
                col(Delivery.recipient) == recipient,
                col(Delivery.status) == Status.CONFIRMING,
                col(Delivery.recipient_urn).is_(None),
                col(Delivery.id) != besides,
            )
            .limit(1)
        )
        with self.engine.connect() as connection:
            found = connection.execute(statement).scalar()
        return None if found is None else int(found)
