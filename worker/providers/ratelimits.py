"""When a rate-limited account may send again, from whatever the provider told us.

Pure functions of the answer and `now`: Retry-After (seconds or an HTTP date),
X-RateLimit-Reset (epoch seconds or milliseconds, or seconds from now) and a body's
`holdUntil` (ISO 8601 or epoch). When several are given the latest wins: the account may not
send before any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Numbers above these are absolute epoch times rather than a delay in seconds.
_EPOCH_S_FLOOR = 1_000_000_000
_EPOCH_MS_FLOOR = 1_000_000_000_000


def retry_at(
    headers: Mapping[str, str], now: datetime, hold_until: object = None
) -> datetime | None:
    """The latest 'not before' time among the answer's hints, or None when it gave none."""
    candidates = [
        _from_retry_after(headers.get("retry-after"), now),
        _from_number_or_date(headers.get("x-ratelimit-reset"), now),
        _from_number_or_date(hold_until, now),
    ]
    known = [c for c in candidates if c is not None]
    return max(known) if known else None


def _from_retry_after(value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return now + timedelta(seconds=max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _from_number_or_date(value: object, now: datetime) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    number = _as_number(value)
    if number is not None:
        if number >= _EPOCH_MS_FLOOR:
            return datetime.fromtimestamp(number / 1000, UTC)
        if number >= _EPOCH_S_FLOOR:
            return datetime.fromtimestamp(number, UTC)
        return now + timedelta(seconds=max(0.0, number))
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _as_number(value: object) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
