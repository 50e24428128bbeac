"""`outreach sandbox` and `outreach demo`: development tools, loaded only when these run, so the
production commands never import them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from scheduler.cli.common import stop_on_signals
from worker.settings import get_settings

dev_app = typer.Typer()


@dev_app.command()
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
    stop = stop_on_signals()
    with server:  # serves on its own thread; this one only waits for a signal
        while not stop.wait(1.0):
            pass


@dev_app.command()
def demo(
    live: Annotated[
        bool | None,
        typer.Option(help="Live table; default: on in a terminal, a line per change otherwise."),
    ] = None,
    page_port: Annotated[
        int, typer.Option(help="Serve the live page here (another port if it is taken).")
    ] = 8080,
    keep_page: Annotated[
        bool, typer.Option(help="Leave the page and the stack up after the run, until Ctrl-C.")
    ] = False,
) -> None:
    """Run the sample campaign on embedded defaults against a local sandbox (no network, no
    keys); exits 1 unless every message ends as expected."""
    from scheduler.dev.demo import run_demo  # noqa: PLC0415 - development only

    show_live = Console().is_terminal if live is None else live
    console = Console(soft_wrap=not show_live)  # a log file keeps each line whole
    code = run_demo(console, get_settings().data_dir, show_live, page_port, keep_page)
    raise typer.Exit(code)
