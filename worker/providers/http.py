"""The only door to the network: one pooled httpx client per process, one exchange function.

httpx exceptions are translated here and nowhere else. The split that matters is whether the
request can have been processed: a failed connect or an unfinished write cannot have sent a
message; a read that fails after the request was written may have. `NoReply.written` says
which, and the outcome table (`worker.providers.answers`) says what each means.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from worker.redaction import redact
from worker.settings import Settings

_NOT_WRITTEN = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, with its body parsed as JSON when it is JSON."""

    status: int
    headers: httpx.Headers
    body: Any  # parsed JSON, or None when the body is not JSON
    text: str


@dataclass(frozen=True)
class NoReply:
    """No HTTP answer came; `written` is whether the request may have reached the provider."""

    written: bool
    reason: str


def exchange(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> Reply | NoReply:
    """Make one request; a transport failure comes back as a NoReply, never raised."""
    try:
        response = client.request(method, url, headers=headers, json=json, params=params)
    except _NOT_WRITTEN as exc:
        return NoReply(written=False, reason=f"request not sent: {_describe(exc)}")
    except httpx.TransportError as exc:
        return NoReply(
            written=True, reason=f"no answer after the request was sent: {_describe(exc)}"
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    return Reply(response.status_code, response.headers, body, response.text)


def _describe(exc: httpx.TransportError) -> str:
    return redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def error_text(reply: Reply) -> str:
    """The provider's own words for a failure, from whichever field it used."""
    if isinstance(reply.body, dict):
        for key in ("error", "message", "detail"):
            value = reply.body.get(key)
            if isinstance(value, str) and value:
                return redact(value)
    text = reply.text.strip()[:200]
    return redact(text) if text else f"HTTP {reply.status}"


def build_client(settings: Settings) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=settings.http_connect_timeout_seconds,
        read=settings.http_read_timeout_seconds,
        write=settings.http_read_timeout_seconds,
        pool=settings.http_connect_timeout_seconds,
    )
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    return httpx.Client(timeout=timeout, limits=limits, headers={"User-Agent": "outreach"})


_clients_lock = threading.Lock()
_clients: dict[int, httpx.Client] = {}


def shared_client(settings: Settings) -> httpx.Client:
    """The process's pooled client, built on first use (after a fork, the child builds its own)."""
    with _clients_lock:
        pid = os.getpid()
        if pid not in _clients:
            _clients.clear()  # a parent's client is not usable across fork
            _clients[pid] = build_client(settings)
        return _clients[pid]
