"""`outreach webhooks …`: endpoints that hear about sends, replies and pauses; the signing
secret; dead events and their retry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scheduler.cli.common import when
from worker.runtime import get_runtime
from worker.webhooks.endpoints import (
    add_endpoint,
    remove_endpoint,
    retry_dead,
    test_endpoint,
)
from worker.webhooks.events import SHORT_NAMES, short_name
from worker.webhooks.signing import DEFAULT_SECRET_ENV, generate_secret

webhooks_app = typer.Typer(
    help="Webhooks: signed events (Standard Webhooks) for sends, replies and pauses.",
    no_args_is_help=True,
)


def _events(stored: str) -> str:
    return ",".join(short_name(e) for e in stored.split(",") if e)


@webhooks_app.command("add")
def add(
    url: str,
    events: Annotated[
        str, typer.Option(help=f"Comma-separated, of: {', '.join(SHORT_NAMES)}.")
    ] = ",".join(SHORT_NAMES),
    secret_env: Annotated[
        str,
        typer.Option(help="The environment variable holding the whsec_ signing secret."),
    ] = DEFAULT_SECRET_ENV,
) -> None:
    """Send these events to URL, signed with the secret in SECRET_ENV (its name is stored,
    never its value; workers must have it set)."""
    added = add_endpoint(get_runtime(), url, events, secret_env)
    endpoint = added.endpoint
    typer.echo(
        f"webhook endpoint {endpoint.id}: {endpoint.url} hears {_events(endpoint.events)},"
        f" signed with the secret in {endpoint.secret_env}"
    )
    if added.secret_problem is not None:
        typer.echo(
            f"warning: {added.secret_problem}; set it for every worker"
            " (`outreach webhooks secret` prints a new one)",
            err=True,
        )


@webhooks_app.command("list")
def list_endpoints(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every endpoint: its events, secret variable, and events pending and dead."""
    lines = get_runtime().webhooks.endpoint_lines()
    if as_json:
        for line in lines:
            e = line.endpoint
            row = {
                "id": e.id,
                "url": e.url,
                "events": _events(e.events).split(","),
                "secret_env": e.secret_env,
                "pending": line.pending,
                "dead": line.dead,
                "created_at": e.created_at.isoformat(),
            }
            typer.echo(json.dumps(row))
        return
    table = Table("id", "url", "events", "secret variable", "pending", "dead")
    for line in lines:
        e = line.endpoint
        table.add_row(
            str(e.id), e.url, _events(e.events), e.secret_env, str(line.pending), str(line.dead)
        )
    Console().print(table)


@webhooks_app.command("remove")
def remove(endpoint_id: int) -> None:
    """Delete an endpoint, with every event for it: those not yet delivered are dropped."""
    dropped = remove_endpoint(get_runtime(), endpoint_id)
    typer.echo(f"webhook endpoint {endpoint_id} removed; {dropped} undelivered events dropped")


@webhooks_app.command("test")
def test(endpoint_id: int) -> None:
    """POST one signed `webhook.test` event to the endpoint now; print its HTTP status."""
    answer = test_endpoint(get_runtime(), endpoint_id)
    if answer.taken:
        typer.echo(f"HTTP {answer.status}: the endpoint took the test event")
        return
    typer.echo(f"the endpoint refused the test event: {answer.error}", err=True)
    raise typer.Exit(1)


@webhooks_app.command("secret")
def secret() -> None:
    """Print a new random signing secret (whsec_…), for the secret variable: it is shown
    here only, and stored nowhere."""
    typer.echo(generate_secret())
    typer.echo(
        f"put it in {DEFAULT_SECRET_ENV} (or the variable given to `webhooks add"
        " --secret-env`) for the workers and the receiver",
        err=True,
    )


@webhooks_app.command("failures")
def failures(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
) -> None:
    """Dead events: their receiver refused them until the retries ran out."""
    dead = get_runtime().webhooks.failures(limit)
    if as_json:
        for failure in dead:
            event = failure.event
            row = {
                "id": event.id,
                "endpoint_id": event.endpoint_id,
                "url": failure.url,
                "type": event.event_type,
                "webhook_id": event.message_id,
                "attempts": event.attempts,
                "last_status": event.last_status,
                "last_error": event.last_error,
                "created_at": event.created_at.isoformat(),
                "updated_at": event.updated_at.isoformat(),
            }
            typer.echo(json.dumps(row))
        return
    table = Table("id", "endpoint", "type", "attempts", "last error", "since")
    for failure in dead:
        event = failure.event
        table.add_row(
            str(event.id),
            f"{event.endpoint_id} {failure.url}",
            event.event_type,
            str(event.attempts),
            event.last_error or "",
            when(event.created_at),
        )
    Console().print(table)


@webhooks_app.command("retry")
def retry(
    event_ids: Annotated[list[int] | None, typer.Argument(help="Dead events' ids.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead event.")] = False,
) -> None:
    """Deliver dead events again, from now, with a fresh run of retries."""
    if every == bool(event_ids):
        raise typer.BadParameter("give dead events' ids, or --all")
    revived = retry_dead(get_runtime(), None if every else event_ids)
    typer.echo(f"{len(revived)} events pending again")
