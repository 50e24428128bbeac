"""The database schema and its migrations (Alembic, in `worker/migrations`).

PostgreSQL and other servers are migrated by an operator (`outreach db upgrade`, the
migration job in compose and Kubernetes); processes refuse to start on a schema that is not
current. The embedded SQLite default is created directly, so `make demo` needs no step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlmodel import SQLModel

import worker.models  # noqa: F401 - registers the tables on SQLModel.metadata
from worker.errors import SchemaNotReadyError

if TYPE_CHECKING:
    from alembic.config import Config

# The revision this version of outreach needs, named here so that a starting process reads the
# database's own with a plain query and imports no Alembic (which loads every dialect's
# migration support: a tenth of a second on each command). A test holds it to the newest file
# in worker/migrations.
HEAD = "0006"
VERSION_TABLE = "alembic_version"  # Alembic's own default


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 (only migrations pay for Alembic)

    config = Config()
    config.set_main_option("script_location", "worker:migrations")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this version of outreach needs."""
    return HEAD


def migrations_head() -> str:
    """The newest revision in worker/migrations, as Alembic reads it (what `HEAD` must be)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "worker/migrations has no revisions"
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision, or None when it has no outreach schema."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        version = sa.table(VERSION_TABLE, sa.column("version_num"))
        found = connection.execute(sa.select(version.c.version_num)).scalars().all()
    if len(found) > 1:
        raise RuntimeError(f"the database has several schema revisions: {', '.join(found)}")
    return found[0] if found else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command  # noqa: PLC0415

    # Alembic begins and commits the transaction itself (env.py), so a migration may step
    # outside it (`autocommit_block`, for PostgreSQL's CREATE INDEX CONCURRENTLY).
    with engine.connect() as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    with engine.connect() as connection:
        command.downgrade(_config(connection), revision)
        connection.commit()


def stamp(engine: Engine, revision: str = "head") -> None:
    from alembic import command  # noqa: PLC0415

    with engine.begin() as connection:
        command.stamp(_config(connection), revision)


def differences(engine: Engine) -> list[Any]:
    """How the database differs from the models (empty when migrations and models agree)."""
    from alembic.autogenerate import compare_metadata  # noqa: PLC0415
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def prepare(engine: Engine) -> None:
    """Make sure the schema is usable: create SQLite directly, require others be migrated."""
    found, needed = current(engine), head()
    if engine.dialect.name == "sqlite":
        if found is None:
            SQLModel.metadata.create_all(engine)
            stamp(engine, needed)
        elif found != needed:
            upgrade(engine, needed)
        return
    if found != needed:
        raise SchemaNotReadyError(found, needed)
