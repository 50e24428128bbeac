"""Send windows: the days and hours an account may send, in the account's own time zone.
Pure functions of `now`; daylight-saving changes are the time zone database's business."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


DAY_MINUTES = 24 * 60
WindowColumns = tuple[str | None, int | None, int | None]  # days, start, end as stored


@dataclass(frozen=True)
class SendWindow:
    """Days (0 = Monday) and a daily span [start, end) in local time, in minutes after
    midnight; end may be 1440 (24:00)."""

    days: frozenset[int] = frozenset(range(7))
    start_minutes: int = 0
    end_minutes: int = DAY_MINUTES

    @property
    def open_minutes(self) -> int:
        """How long the window is open on each of its days."""
        return self.end_minutes - self.start_minutes

    def to_columns(self) -> WindowColumns:
        """The campaigns table's `window_days`, `window_start_minutes`, `window_end_minutes`."""
        days = ",".join(str(d) for d in sorted(self.days))
        return days, self.start_minutes, self.end_minutes

    @classmethod
    def from_columns(cls, days: str | None, start: int | None, end: int | None) -> SendWindow:
        """The window stored by `to_columns`; no days stored means always open."""
        if days is None:
            return cls()
        day_set = frozenset(int(d) for d in days.split(","))
        return cls(day_set, start or 0, end or DAY_MINUTES)

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
        if end > DAY_MINUTES or end <= h1 * 60 + m1:
            raise ValueError("hours must end after they start, within one day")
        return cls(day_set, h1 * 60 + m1, end)

    def _span(self, day: datetime) -> tuple[datetime, datetime]:
        midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
        opening = midnight + timedelta(minutes=self.start_minutes)
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
