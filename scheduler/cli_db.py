"""`outreach db …`: the database schema, migrated with Alembic."""

from __future__ import annotations

from typing import Annotated

import typer

from worker import schema
from worker.settings import get_settings
from worker.store import create_engine

db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Migrate the database to this version's schema (safe to run again; compose and
    Kubernetes run it as a one-shot job before the workers start)."""
    engine = create_engine(get_settings().resolved_database_url)
    try:
        before = schema.current(engine)
        schema.upgrade(engine, revision)
        after = schema.current(engine)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"already at revision {after}")
    else:
        typer.echo(f"upgraded from {before or 'an empty database'} to revision {after}")


@db_app.command("current")
def current() -> None:
    """Print the database's revision and the one this version needs."""
    engine = create_engine(get_settings().resolved_database_url)
    try:
        found = schema.current(engine)
    finally:
        engine.dispose()
    typer.echo(f"database: {found or 'no outreach schema'}\nthis version needs: {schema.head()}")


@db_app.command("check")
def check() -> None:
    """Exit 1 when the database's schema differs from the models (after `db upgrade`, it
    proves the migrations and the models agree)."""
    engine = create_engine(get_settings().resolved_database_url)
    try:
        differences = schema.differences(engine)
    finally:
        engine.dispose()
    if differences:
        for difference in differences:
            typer.echo(f"differs: {difference}", err=True)
        raise typer.Exit(1)
    typer.echo("the database schema matches the models")
