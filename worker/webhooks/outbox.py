"""The outbox as the code that changes things sees it: which endpoints listen (the list cached
for `OUTREACH_WEBHOOK_ENDPOINTS_CACHE_SECONDS`, so a settle costs no query) and the rows one
change's events become. With no endpoint, events are not even built."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from worker.models import WebhookEndpoint
from worker.webhooks.events import Event, fan_out
from worker.webhooks.store import OutboxRow, WebhookStore

Clock = Callable[[], float]


class Outbox:
    def __init__(self, store: WebhookStore, cache_s: float, clock: Clock = time.monotonic):
        self.store = store
        self.cache_s = cache_s
        self.clock = clock
        self._lock = threading.Lock()
        self._endpoints: list[WebhookEndpoint] = []
        self._read_at: float | None = None

    def endpoints(self) -> list[WebhookEndpoint]:
        """The endpoints, read again once the cached list is older than `cache_s`."""
        now = self.clock()
        with self._lock:
            if self._read_at is None or now - self._read_at >= self.cache_s:
                self._endpoints = self.store.endpoints()
                self._read_at = now
            return self._endpoints

    def rows(self, events: Callable[[], Sequence[Event | None]]) -> list[OutboxRow]:
        """The outbox rows for the events `events()` builds (called only when some endpoint
        listens), one per subscribed endpoint and event."""
        endpoints = self.endpoints()
        if not endpoints:
            return []
        return fan_out(endpoints, [e for e in events() if e is not None])

    def write(self, rows: Sequence[OutboxRow]) -> list[int]:
        """Write events that describe no database change of their own (a pause in Redis)."""
        return self.store.write(rows)

    def forget(self) -> None:
        """Read the endpoints again on next use (after adding or removing one here)."""
        with self._lock:
            self._read_at = None
