"""The `outreach` command. Every subcommand is a thin shell over the packages' functions; errors
are printed once, here, after redaction."""

from __future__ import annotations

import json
import mimetypes
import os
import signal
import sys
import threading
import traceback
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from scheduler.cli_campaigns import campaign_app, campaigns, recipients_app
from scheduler.cli_db import db_app
from scheduler.operations import (
    account_summaries,
    delivery_view,
    pause_account,
    resume_account,
    retry_delivery,
)
from scheduler.processes import run_scheduler, run_worker
from scheduler.producer import enqueue_message
from scheduler.recovery import recover as recover_from_database
from worker.errors import (
    CampaignFileError,
    CampaignInputError,
    InvalidMessageError,
    OutreachError,
)
from worker.logs import configure_logging
from worker.providers.base import MediaFile
from worker.redaction import redact
from worker.runtime import get_runtime
from worker.settings import get_settings

# Typer's pretty tracebacks print local variables, which may hold credentials: off.
app = typer.Typer(
    name="outreach",
    help="Paced, exactly-once LinkedIn outreach through LinkUp, ConnectSafely and OutX.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _configure(
    embedded: Annotated[
        bool,
        typer.Option(
            "--embedded",
            help="Without OUTREACH_REDIS_URL, start an embedded Redis (development only).",
        ),
    ] = False,
) -> None:
    if embedded:
        os.environ["OUTREACH_EMBEDDED_REDIS"] = "true"  # for this process and its children
        get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8765,
    min_gap: Annotated[
        float, typer.Option(help="Record a violation when an account sends sooner than this (s).")
    ] = 0.0,
    outx_complete_after: Annotated[
        float, typer.Option(help="Seconds an OutX task takes to complete.")
    ] = 0.0,
) -> None:
    """Serve the provider sandbox: LinkUp, ConnectSafely and OutX as their docs describe."""
    # Development tools load only when asked for: production never imports them.
    from worker.dev.sandbox.server import Sandbox  # noqa: PLC0415
    from worker.dev.sandbox.state import Config  # noqa: PLC0415

    server = Sandbox(
        host, port, Config(min_gap_s=min_gap, outx_complete_after_s=outx_complete_after)
    )
    out = Console(stderr=True)
    out.print(f"provider sandbox listening on [bold]{server.url}[/bold]  (Ctrl-C stops it)")
    out.print("point outreach at it with:")
    for name in ("LINKUP", "CONNECTSAFELY", "OUTX"):
        out.print(f"  export OUTREACH_{name}_BASE_URL={server.url}", highlight=False)
    stop = _stop_on_signals()
    with server:  # serves on its own thread; this one only waits for a signal
        while not stop.wait(1.0):
            pass


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


app.add_typer(campaign_app, name="campaign")
app.add_typer(recipients_app, name="recipients")
app.add_typer(db_app, name="db")
app.command("campaigns")(campaigns)

accounts_app = typer.Typer(help="Sender accounts: queues, pacing, pauses.")
app.add_typer(accounts_app, name="accounts")


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
        paused = "until resumed" if s.paused_forever else _when(s.paused_until)
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
            _when(s.next_send_at),
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


MetricsPort = Annotated[
    int | None,
    typer.Option(help="Serve /metrics, /healthz, /readyz here [env: OUTREACH_METRICS_PORT]."),
]


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Parallel sends in this worker.")] = 4,
    metrics_port: MetricsPort = None,
) -> None:
    """Run a Celery worker; run as many as you like, on any machine."""
    runtime = get_runtime()
    port = runtime.settings.metrics_port if metrics_port is None else metrics_port
    run_worker(runtime, concurrency, port)


@app.command()
def scheduler(metrics_port: MetricsPort = None) -> None:
    """Release due jobs to the workers; two or more may run at once."""
    runtime = get_runtime()
    port = runtime.settings.metrics_port if metrics_port is None else metrics_port
    run_scheduler(runtime, port, _stop_on_signals())


@app.command()
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


deliveries_app = typer.Typer(help="Delivery records: one per message.")
app.add_typer(deliveries_app, name="deliveries")


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
            _when(row.sent_at),
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
            _when(a.started_at),
            a.kind,
            a.outcome,
            str(a.http_status or "-"),
            f"{a.latency_ms:.0f}",
            a.error or "",
        )
    Console().print(table)


@deliveries_app.command("retry")
def deliveries_retry(delivery_id: int) -> None:
    """Send an unknown or failed delivery again. An unknown one may already have arrived:
    check the conversation on LinkedIn first."""
    row = retry_delivery(get_runtime(), delivery_id)
    typer.echo(f"delivery {row.id} queued again")


@app.command()
def recover() -> None:
    """Rebuild the Redis queues and pacing state from the database (after Redis lost data)."""
    result = recover_from_database(get_runtime())
    typer.echo(
        f"re-queued {result.queued} deliveries, {result.checks} OutX checks; "
        f"pacing restored for {result.accounts_paced} accounts"
    )


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def demo(
    live: Annotated[
        bool | None,
        typer.Option(help="Live table; default: on in a terminal, a line per change otherwise."),
    ] = None,
) -> None:
    """Run the sample campaign on embedded defaults against a local sandbox (no network, no
    keys); exits 1 unless every message ends as expected."""
    from scheduler.dev.demo import run_demo  # noqa: PLC0415 - development only

    show_live = Console().is_terminal if live is None else live
    console = Console(soft_wrap=not show_live)  # a log file keeps each line whole
    raise typer.Exit(run_demo(console, get_settings().data_dir, show_live))


def _fail(headline: str, lines: list[str]) -> NoReturn:
    body = "".join(f"  {redact(line)}\n" for line in lines)
    sys.stderr.write(f"error: {headline}:\n{body}")
    sys.exit(2)


def main() -> None:
    """Console entry point: run the app, print any failure once, redacted."""
    try:
        app()
    except InvalidMessageError as exc:
        _fail("the message was not queued", [str(problem) for problem in exc.problems])
    except CampaignFileError as exc:
        _fail("the campaign was not started; fix its file", str(exc).splitlines())
    except CampaignInputError as exc:
        _fail("the campaign was not started; nothing was written. Fix these", exc.lines)
    except OutreachError as exc:
        sys.stderr.write(f"error: {redact(str(exc))}\n")
        sys.exit(2)
    except Exception:
        sys.stderr.write(redact(traceback.format_exc()))
        sys.exit(1)
