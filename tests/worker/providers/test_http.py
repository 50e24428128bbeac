"""The network door: one pooled client per process."""

from __future__ import annotations

from worker.providers.http import shared_client
from worker.settings import Settings


def test_a_process_shares_one_pooled_client() -> None:
    settings = Settings()
    first = shared_client(settings)
    assert shared_client(settings) is first
    assert first.timeout.connect == settings.http_connect_timeout_seconds
    assert first.timeout.read == settings.http_read_timeout_seconds
