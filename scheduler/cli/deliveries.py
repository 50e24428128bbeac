"""`outreach deliveries …`: the delivery records; show one with its provider calls; retry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scheduler.cli.common import when
from scheduler.operations import delivery_view, retry_delivery
from worker.errors import OutreachError
from worker.runtime import get_runtime

deliveries_app = typer.Typer(help="Delivery records: one per message.")


@deliveries_app.callback(invoke_without_command=True)
def deliveries(
    ctx: typer.Context,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List deliveries. Statuses: waiting, queued, sending, confirming; then sent, failed, unknown,
    cancelled, skipped."""
    if ctx.invoked_subcommand is not None:
        return
    rows = get_runtime().store.find(campaign=campaign, status=status, account=account, limit=limit)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(delivery_view(row)))
        return
    table = Table("id", "account", "recipient", "status", "attempts", "sent at", "error")
    for row in rows:
        table.add_row(
            str(row.id),
            row.account,
            row.recipient,
            row.status.value,
            str(row.attempts),
            when(row.sent_at),
            row.error or "",
        )
    Console().print(table)


@deliveries_app.command("show")
def deliveries_show(delivery_id: int) -> None:
    """One delivery and every provider call made for it."""
    runtime = get_runtime()
    row = runtime.store.get(delivery_id)
    if row is None:
        raise OutreachError(f"no delivery {delivery_id}")
    typer.echo(json.dumps(delivery_view(row), indent=2))
    table = Table("when", "kind", "outcome", "http", "latency ms", "error")
    for a in runtime.store.attempts_of(delivery_id):
        table.add_row(
            when(a.started_at),
            a.kind,
            a.outcome,
            str(a.http_status or "-"),
            f"{a.latency_ms:.0f}",
            a.error or "",
        )
    Console().print(table)


@deliveries_app.command("retry")
def deliveries_retry(
    delivery_id: int,
    with_followups: Annotated[
        bool,
        typer.Option(
            "--with-followups",
            help="The later steps of its sequence, cancelled when it ended, wait for it again.",
        ),
    ] = False,
) -> None:
    """Send an unknown or failed delivery again. An unknown one may already have arrived:
    check the conversation on LinkedIn first."""
    retried = retry_delivery(get_runtime(), delivery_id, with_followups=with_followups)
    typer.echo(f"delivery {retried.delivery.id} queued again")
    if with_followups:
        typer.echo(f"{retried.reopened} follow-ups wait for it again")
