"""`outreach recipients …`: what recipients told you (replied, opted out)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scheduler.steering import mark_replied, opt_out, unmark_replied
from worker.runtime import get_runtime

recipients_app = typer.Typer(help="What recipients told you.", no_args_is_help=True)


def _recipients(values: list[str] | None, file: Path | None) -> list[str]:
    listed = list(values or [])
    if file is not None:
        listed += [
            line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    if not listed:
        raise typer.BadParameter("give recipients as arguments or with --file")
    return listed


@recipients_app.command("mark-replied")
def replied(
    recipients: Annotated[list[str] | None, typer.Argument(help="Profile URLs or URNs.")] = None,
    file: Annotated[Path | None, typer.Option(help="One recipient per line.")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Stop only this campaign's sequence.")
    ] = None,
) -> None:
    """They replied: their sequences stop (shown in `outreach replies` as manual)."""
    count = mark_replied(get_runtime(), _recipients(recipients, file), campaign)
    typer.echo(f"marked replied; {count} pending sends cancelled")


@recipients_app.command("unmark-replied")
def unreplied(
    recipients: Annotated[list[str] | None, typer.Argument(help="Profile URLs or URNs.")] = None,
    file: Annotated[Path | None, typer.Option(help="One recipient per line.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only in this campaign.")] = None,
) -> None:
    """Undo a "replied" mark: forget the reply, give the stopped steps back."""
    count = unmark_replied(get_runtime(), _recipients(recipients, file), campaign)
    typer.echo(f"unmarked; {count} steps back in their sequences")


@recipients_app.command("opt-out")
def opted_out(
    recipients: Annotated[list[str] | None, typer.Argument(help="Profile URLs or URNs.")] = None,
    file: Annotated[Path | None, typer.Option(help="One recipient per line.")] = None,
) -> None:
    """Never contact them again, in any campaign."""
    count = opt_out(get_runtime(), _recipients(recipients, file))
    typer.echo(f"opted out; {count} pending sends cancelled")
