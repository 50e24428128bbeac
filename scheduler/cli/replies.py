"""`outreach replies …`: the replies recorded, and replies found elsewhere (OutX senders)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scheduler.cli.common import when
from scheduler.operations import reply_view
from scheduler.reply_import import import_replies
from worker.runtime import get_runtime

replies_app = typer.Typer(help="Replies recorded: found by reads, marked or imported.")


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            "write a date or time, e.g. 2026-11-20 or 2026-11-20T09:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@replies_app.callback(invoke_without_command=True)
def replies(
    context: typer.Context,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's.")] = None,
    account: Annotated[str | None, typer.Option(help="Only through this account.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Received from then on (ISO date/time, UTC).")
    ] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the replies recorded, oldest first."""
    if context.invoked_subcommand is not None:
        return
    found = get_runtime().recipients.replies(
        campaign=campaign, account=account, since=_since(since)
    )
    if json_lines:
        for reply in found:
            typer.echo(json.dumps(reply_view(reply)))
        return
    table = Table("received", "recipient", "campaign", "step", "account", "how", "text")
    for reply in found:
        step = "-" if reply.step is None else str(reply.step + 1)
        table.add_row(
            when(reply.received_at),
            reply.recipient,
            reply.campaign or "-",
            step,
            reply.account or "-",
            reply.how,
            reply.text[:60],
        )
    Console().print(table)
    typer.echo(f"{len(found)} replies")


@replies_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV with columns recipient, received_at.")],
) -> None:
    """Record replies found elsewhere (OutX cannot read conversations): their sequences stop."""
    result = import_replies(get_runtime(), file)
    typer.echo(
        f"{result.recorded} replies recorded ({result.already} already known);"
        f" {result.cancelled} pending sends cancelled"
    )
