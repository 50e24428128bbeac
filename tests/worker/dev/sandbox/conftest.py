"""Plain HTTP to the sandbox, shared by its tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.server import Sandbox


@pytest.fixture
def raw(sandbox_server: Sandbox, sandbox: SandboxClient) -> Iterator[httpx.Client]:
    """Plain HTTP to the sandbox, to see its answers as a provider's client would (after the
    `sandbox` fixture has reset it)."""
    with httpx.Client(base_url=sandbox_server.url, timeout=5) as client:
        yield client
