from __future__ import annotations

from collections.abc import Callable

import pytest

from worker.runtime import Runtime

ACCOUNTS = {"ann": "linkup", "dan": "connectsafely", "eve": "outx"}


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    """A runtime on the emptied test Redis and database, with three accounts."""
    return make_runtime(ACCOUNTS, sending_timeout_seconds=30)
