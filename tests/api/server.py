"""The API served for real: uvicorn on a loopback port in a thread of the test process, so
tests speak HTTP to it and can still read the runtime's database and Redis."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import httpx
import uvicorn

from scheduler.api.api_keys import ApiKeys
from scheduler.api.app import create_app
from worker.runtime import Runtime

ACCOUNTS = {"ann": "linkup", "dan": "connectsafely", "eve": "outx"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningApi:
    url: str
    runtime: Runtime
    key: str  # read-write
    read_only_key: str
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, key: str | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        """A client for the API, with `key` as its bearer token (or these `headers`)."""
        given = {} if key is None else {"Authorization": f"Bearer {key}"}
        return httpx.Client(base_url=self.url, headers={**given, **(headers or {})}, timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(runtime: Runtime) -> RunningApi:
    keys = ApiKeys(runtime.engine, runtime.redis)
    key = keys.create("test-writer").key
    read_only_key = keys.create("test-reader", read_only=True).key
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.01)
    return RunningApi(f"http://127.0.0.1:{port}", runtime, key, read_only_key, server, thread)
