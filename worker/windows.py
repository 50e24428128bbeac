"""Send windows: the days and hours an account may send, in the account's own time zone.
Pure functions of `now`; daylight-saving changes are the time zone database's business."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class SendWindow:
    """Days (0 = Monday) and a daily span [start, end) in local time; end may be 24:00."""

    days: frozenset[int] = frozenset(range(7))
    start: time = time(0, 0)
    end_minutes: int = 24 * 60  # minutes after midnight; 1440 means the end of the day

    @classmethod
    def parse(cls, days: list[str] | None, hours: str | None) -> SendWindow:
        """From a campaign file's `days = ["mon", …]` and `hours = "09:00-18:00"`."""
        day_set = frozenset(range(7))
        if days is not None:
            unknown = [d for d in days if d not in DAY_NAMES]
            if unknown or not days:
                raise ValueError(f"days must be a non-empty list of {', '.join(DAY_NAMES)}")
            day_set = frozenset(DAY_NAMES.index(d) for d in days)
        if hours is None:
            return cls(day_set)
        match = _HOURS.match(hours)
        if not match:
            raise ValueError('hours must look like "09:00-18:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        end = h2 * 60 + m2
        if end > 24 * 60 or end <= h1 * 60 + m1:
            raise ValueError("hours must end after they start, within one day")
        return cls(day_set, time(h1, m1), end)

    def _span(self, day: datetime) -> tuple[datetime, datetime]:
        opening = day.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
        return opening, midnight + timedelta(minutes=self.end_minutes)

    def next_open(self, now: datetime, zone: ZoneInfo) -> datetime:
        """`now` if the window is open at `now`, else when it next opens (aware UTC)."""
        local = now.astimezone(zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).replace(
                hour=12, minute=0, second=0, microsecond=0
            )
            if day.weekday() not in self.days:
                continue
            opening, closing = self._span(day)
            if offset == 0 and opening <= local < closing:
                return now
            if local < opening:
                return opening.astimezone(UTC)
        raise AssertionError("a window with at least one day opens within a week")
