"""The HTTP endpoints a worker or scheduler serves for Prometheus and for probes:

    /metrics   Prometheus text format
    /healthz   liveness: 200 while the process's own loop is alive (restart it otherwise):
               the scheduler's pump loop; a worker's pool (`worker.heartbeat`)
    /readyz    readiness: 200 while Redis and the database answer

Each check returns None when healthy, or the reason it is not (the body of the 503).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from worker.logs import get_logger

Check = Callable[[], str | None]
log = get_logger(__name__)


def always_alive() -> str | None:
    return None


class HealthServer:
    """Serves /metrics, /healthz and /readyz on a daemon thread."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        live: Check = always_alive,
        ready: Check = always_alive,
        host: str = "0.0.0.0",  # noqa: S104 - probes and Prometheus reach pods from outside
        port: int = 0,
    ):
        routes: dict[str, Callable[[], tuple[int, bytes, str]]] = {
            "/metrics": lambda: (200, generate_latest(registry), CONTENT_TYPE_LATEST),
            "/healthz": lambda: _verdict(live),
            "/readyz": lambda: _verdict(ready),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                status, body, content_type = (
                    route() if route else (404, b"not found\n", "text/plain")
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # probes every few seconds would drown the logs

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("health_server_started", port=self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _verdict(check: Check) -> tuple[int, bytes, str]:
    try:
        problem = check()
    except Exception as exc:  # a check that breaks is a failed check, not a crashed server
        problem = f"check failed: {type(exc).__name__}"
    if problem is None:
        return 200, b"ok\n", "text/plain"
    return 503, f"{problem}\n".encode(), "text/plain"
