"""The database schema and its migrations (Alembic, in `worker/migrations`).

PostgreSQL and other servers are migrated by an operator (`outreach db upgrade`, the
migration job in compose and Kubernetes); processes refuse to start on a schema that is not
current. The embedded SQLite default is created directly, so `make demo` needs no step.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlmodel import SQLModel

import worker.models  # noqa: F401 - registers the tables on SQLModel.metadata
from worker.errors import SchemaNotReadyError


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "worker:migrations")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this version of outreach needs."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "worker/migrations has no revisions"
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision, or None when it has no outreach schema."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    # Alembic begins and commits the transaction itself (env.py), so a migration may step
    # outside it (`autocommit_block`, for PostgreSQL's CREATE INDEX CONCURRENTLY).
    with engine.connect() as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    with engine.connect() as connection:
        command.downgrade(_config(connection), revision)
        connection.commit()


def stamp(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.stamp(_config(connection), revision)


def differences(engine: Engine) -> list[Any]:
    """How the database differs from the models (empty when migrations and models agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def prepare(engine: Engine) -> None:
    """Make sure the schema is usable: create SQLite directly, require others be migrated."""
    found, needed = current(engine), head()
    if engine.dialect.name == "sqlite":
        if found is None:
            SQLModel.metadata.create_all(engine)
            stamp(engine)
        elif found != needed:
            upgrade(engine)
        return
    if found != needed:
        raise SchemaNotReadyError(found, needed)
