"""`outreach accounts …`: per account queues, pacing and pauses; pause and resume."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scheduler.cli.common import when
from scheduler.operations import account_summaries, pause_account, resume_account
from worker.runtime import get_runtime

accounts_app = typer.Typer(help="Sender accounts: queues, pacing, pauses.")


@accounts_app.callback(invoke_without_command=True)
def accounts(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Per account: queued, next send time, paused until, sent today (never credentials)."""
    if ctx.invoked_subcommand is not None:
        return
    summaries = account_summaries(get_runtime())
    if as_json:
        for summary in summaries:
            typer.echo(json.dumps(asdict(summary), default=str))
        return
    table = Table(
        "account",
        "provider",
        "queued",
        "in progress",
        "sent today",
        "failed",
        "unknown",
        "next send",
        "paused",
    )
    for s in summaries:
        paused = "until resumed" if s.paused_forever else when(s.paused_until)
        if paused != "-" and s.pause_reason:
            paused += f" ({s.pause_reason})"
        table.add_row(
            s.account,
            s.provider,
            str(s.queued),
            str(s.in_progress),
            str(s.sent_today),
            str(s.failed),
            str(s.unknown),
            when(s.next_send_at),
            paused,
        )
    Console().print(table)


@accounts_app.command("resume")
def accounts_resume(name: str) -> None:
    """Let a paused account send again (after fixing its credentials, say)."""
    resume_account(get_runtime(), name)
    typer.echo(f"account {name} resumed")


@accounts_app.command("pause")
def accounts_pause(
    name: str,
    reason: Annotated[
        str, typer.Option(help="Shown in `outreach accounts` until resumed.")
    ] = "paused by an operator",
) -> None:
    """Stop an account sending until `outreach accounts resume NAME`; nothing queued is lost."""
    pause_account(get_runtime(), name, reason)
    typer.echo(f"account {name} paused until resumed ({reason})")
