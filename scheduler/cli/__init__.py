"""The `outreach` command, one module per command group. Every subcommand is a thin shell over
the packages' functions; errors are printed once, here, after redaction."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, NoReturn

import typer

from scheduler.cli.accounts import accounts_app
from scheduler.cli.api import api_app, api_keys_app
from scheduler.cli.campaigns import campaign_app, campaigns
from scheduler.cli.db import db_app
from scheduler.cli.deliveries import deliveries_app
from scheduler.cli.dev import dev_app
from scheduler.cli.processes import processes_app
from scheduler.cli.recipients import recipients_app
from scheduler.cli.replies import replies_app
from scheduler.cli.send import send_app
from scheduler.cli.webhooks import webhooks_app
from worker.errors import (
    CampaignFileError,
    CampaignInputError,
    InvalidMessageError,
    OutreachError,
)
from worker.logs import configure_logging
from worker.redaction import redact
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


app.add_typer(accounts_app, name="accounts")
app.add_typer(campaign_app, name="campaign")
app.command("campaigns")(campaigns)
app.add_typer(recipients_app, name="recipients")
app.add_typer(replies_app, name="replies")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(db_app, name="db")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(api_keys_app, name="api-keys")
# Top-level commands (`outreach worker`, `outreach send`…) live in their group's module too.
for group in (processes_app, send_app, dev_app, api_app):
    app.registered_commands += group.registered_commands


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
