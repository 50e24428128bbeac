"""`outreach api` serves the HTTP API and the live page; `outreach api-keys …` manages the
keys that may call it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scheduler.api.api_keys import ApiKeys
from scheduler.cli.common import when
from worker.runtime import get_runtime

api_app = typer.Typer()
api_keys_app = typer.Typer(help="Keys for the HTTP API.", no_args_is_help=True)


@api_app.command("api")
def api(
    host: Annotated[
        str | None, typer.Option(help="Listen here [env: OUTREACH_API_HOST, 127.0.0.1].")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Listen on this port [env: OUTREACH_API_PORT, 8080].")
    ] = None,
) -> None:
    """Serve the HTTP API (/v1, docs at /docs) and the live campaign page (/)."""
    # Only this command needs the web stack: other commands start without importing it.
    import uvicorn  # noqa: PLC0415

    from scheduler.api.app import create_app  # noqa: PLC0415

    runtime = get_runtime()
    settings = runtime.settings
    config = uvicorn.Config(
        create_app(runtime),
        host=host or settings.api_host,
        port=settings.api_port if port is None else port,
        log_config=None,  # our logging, already configured: nothing uvicorn prints skips redaction
        proxy_headers=True,
        forwarded_allow_ips=settings.api_forwarded_allow_ips,
        access_log=False,
        server_header=False,
    )
    uvicorn.Server(config).run()


@api_keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what will use the key.")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="May read, never change anything.")
    ] = False,
) -> None:
    """Make a key and print it once: it is stored only as a hash."""
    runtime = get_runtime()
    made = ApiKeys(runtime.engine, runtime.redis).create(name, read_only=read_only)
    typer.echo(made.key)
    kind = "read-only" if read_only else "read-write"
    typer.echo(f"{kind} key {name!r} created; it is shown only this once", err=True)


@api_keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every key: name, first characters, access, created, revoked."""
    table = Table("name", "key starts", "access", "created", "revoked")
    for key in ApiKeys(get_runtime().engine, get_runtime().redis).all():
        if as_json:
            view = key.model_dump(include={"name", "prefix", "read_only"})
            for moment in ("created_at", "revoked_at"):
                value = getattr(key, moment)
                view[moment] = value.isoformat() if value else None
            typer.echo(json.dumps(view))
            continue
        access = "read-only" if key.read_only else "read-write"
        revoked = when(key.revoked_at) if key.revoked_at else "-"
        table.add_row(key.name, key.prefix + "…", access, when(key.created_at), revoked)
    if not as_json:
        Console().print(table)


@api_keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Refuse the key from now on."""
    runtime = get_runtime()
    ApiKeys(runtime.engine, runtime.redis).revoke(name)
    typer.echo(f"key {name!r} revoked")
