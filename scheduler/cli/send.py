"""`outreach send`: validate, record and queue one message."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Annotated

import typer

from scheduler.producer import enqueue_message
from worker.providers.base import MediaFile
from worker.runtime import get_runtime

send_app = typer.Typer()


@send_app.command()
def send(
    account: Annotated[str, typer.Option(help="Sender account from the accounts file.")],
    to: Annotated[str, typer.Option(help="Profile URL, public profile id or profile URN.")],
    text: Annotated[str, typer.Option(help="The message.")],
    subject: Annotated[str | None, typer.Option(help="Subject (ConnectSafely).")] = None,
    inmail: Annotated[bool, typer.Option(help="Send as InMail (ConnectSafely).")] = False,
    media_link: Annotated[str | None, typer.Option(help="Attachment URL (LinkUp).")] = None,
    media_file: Annotated[Path | None, typer.Option(help="Attachment file (LinkUp).")] = None,
    conversation: Annotated[
        str | None, typer.Option(help="Reply into this conversation URN.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Validate, record and queue one message; prints its delivery id."""
    media = None
    if media_file is not None:
        content_type = mimetypes.guess_type(media_file.name)[0] or "application/octet-stream"
        media = MediaFile(content_type, media_file.read_bytes())
    result = enqueue_message(
        get_runtime(),
        account=account,
        to=to,
        text=text,
        subject=subject,
        inmail=inmail,
        media_link=media_link,
        media_file=media,
        conversation=conversation,
    )
    if as_json:
        typer.echo(
            json.dumps(
                {"id": result.delivery_id, "created": result.created, "status": result.status.value}
            )
        )
    elif result.created:
        typer.echo(result.delivery_id)
    else:
        typer.echo(f"{result.delivery_id} (already recorded: {result.status.value})")
