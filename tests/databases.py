"""Databases for tests: the shared test database reset to its migrated state, and empty
databases of the same kind for migration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from worker import schema
from worker.database import create_engine


def reset_to_migrations(engine: Engine) -> None:
    """Drop everything outreach keeps in the database, then migrate it up from empty."""
    with engine.begin() as connection:
        SQLModel.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    schema.upgrade(engine)


def migrate(url: str) -> None:
    """Bring a server database to this version's schema, as `outreach db upgrade` does
    (SQLite needs nothing: processes create it)."""
    if url.startswith("sqlite"):
        return
    engine = create_engine(url)
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()


@contextmanager
def empty_database(url: str, tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it, of the same kind as `url`: a PostgreSQL schema of its
    own (through search_path), or a new SQLite file."""
    if not url.startswith("postgresql"):
        engine = create_engine(f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex}.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    name = f"empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    separator = "&" if "?" in url else "?"
    engine = create_engine(f"{url}{separator}options=-csearch_path%3D{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()
