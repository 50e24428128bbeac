"""`outreach worker`, `outreach scheduler` and `outreach recover`: the long-running processes,
and rebuilding Redis from the database."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import MetricsPort, stop_on_signals
from scheduler.recovery import recover as recover_from_database
from worker.runtime import get_runtime

processes_app = typer.Typer()


@processes_app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Parallel sends in this worker.")] = 4,
    metrics_port: MetricsPort = None,
) -> None:
    """Run a Celery worker; run as many as you like, on any machine."""
    # Celery is imported by the commands that run it, not by every `outreach` command.
    from scheduler.processes import run_worker  # noqa: PLC0415

    runtime = get_runtime()
    port = runtime.settings.metrics_port if metrics_port is None else metrics_port
    run_worker(runtime, concurrency, port)


@processes_app.command()
def scheduler(metrics_port: MetricsPort = None) -> None:
    """Release due jobs to the workers; two or more may run at once."""
    from scheduler.processes import run_scheduler  # noqa: PLC0415

    runtime = get_runtime()
    port = runtime.settings.metrics_port if metrics_port is None else metrics_port
    run_scheduler(runtime, port, stop_on_signals())


@processes_app.command()
def recover() -> None:
    """Rebuild the Redis queues and pacing state from the database (after Redis lost data)."""
    result = recover_from_database(get_runtime())
    typer.echo(
        f"re-queued {result.queued} deliveries, {result.checks} OutX checks, "
        f"{result.webhooks} webhook events; "
        f"pacing restored for {result.accounts_paced} accounts"
    )
