from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.api.server import ACCOUNTS, RunningApi, serve
from worker.runtime import Runtime


@pytest.fixture
def api(make_runtime: Callable[..., Runtime]) -> Iterator[RunningApi]:
    """The API on a real port, over the emptied test Redis and database, three accounts,
    and a read-write and a read-only key."""
    running = serve(make_runtime(ACCOUNTS, sending_timeout_seconds=30, api_max_body_bytes=1 << 20))
    yield running
    running.stop()
