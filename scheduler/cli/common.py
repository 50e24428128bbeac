"""What the command groups share: time formatting, signal handling, the metrics-port option."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import Annotated

import typer

MetricsPort = Annotated[
    int | None,
    typer.Option(help="Serve /metrics, /healthz, /readyz here [env: OUTREACH_METRICS_PORT]."),
]


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
