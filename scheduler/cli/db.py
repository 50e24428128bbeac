"""`outreach db …`: the database schema, migrated with Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy import Engine

from worker import schema
from worker.database import create_engine
from worker.settings import get_settings


@contextmanager
def _engine() -> Iterator[Engine]:
    """The configured database, for one command."""
    engine = create_engine(get_settings().resolved_database_url)
    try:
        yield engine
    finally:
        engine.dispose()


db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Migrate the database to this version's schema (safe to run again; compose and
    Kubernetes run it as a one-shot job before the workers start)."""
    with _engine() as engine:
        before = schema.current(engine)
        schema.upgrade(engine, revision)
        after = schema.current(engine)
    if before == after:
        typer.echo(f"already at revision {after}")
    else:
        typer.echo(f"upgraded from {before or 'an empty database'} to revision {after}")


@db_app.command("current")
def current() -> None:
    """Print the database's revision and the one this version needs."""
    with _engine() as engine:
        found = schema.current(engine)
    typer.echo(f"database: {found or 'no outreach schema'}\nthis version needs: {schema.head()}")


@db_app.command("check")
def check() -> None:
    """Exit 1 when the database's schema differs from the models (after `db upgrade`, it
    proves the migrations and the models agree)."""
    with _engine() as engine:
        differences = schema.differences(engine)
    if differences:
        for difference in differences:
            typer.echo(f"differs: {difference}", err=True)
        raise typer.Exit(1)
    typer.echo("the database schema matches the models")
