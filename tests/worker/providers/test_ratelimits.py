"""When a rate-limited account may send again: a pure table, fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FIXED_NOW
from worker.providers.ratelimits import retry_at

LATER = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "hold_until", "expected"),
    [
        ({}, None, None),
        ({"retry-after": "90"}, None, FIXED_NOW + timedelta(seconds=90)),
        ({"retry-after": "Mon, 23 Nov 2026 12:00:00 GMT"}, None, LATER),
        ({"retry-after": "soon"}, None, None),
        ({"x-ratelimit-reset": str(int(LATER.timestamp()))}, None, LATER),
        ({"x-ratelimit-reset": str(int(LATER.timestamp() * 1000))}, None, LATER),
        ({"x-ratelimit-reset": "45"}, None, FIXED_NOW + timedelta(seconds=45)),
        ({}, "2026-11-23T12:00:00Z", LATER),
        ({}, "2026-11-23T12:00:00", LATER),
        ({}, int(LATER.timestamp() * 1000), LATER),
        ({}, "not a date", None),
        ({}, True, None),
        # Several hints: the account may not send before the latest.
        ({"retry-after": "30", "x-ratelimit-reset": str(int(LATER.timestamp()))}, None, LATER),
        ({"retry-after": "99999"}, "2026-11-23T12:00:00Z", FIXED_NOW + timedelta(seconds=99999)),
    ],
)
def test_retry_at(headers: dict[str, str], hold_until: object, expected: datetime | None) -> None:
    assert retry_at(headers, FIXED_NOW, hold_until) == expected
