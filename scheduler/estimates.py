"""When a campaign should be done: its sends spread over its accounts' daily caps, pace and
windows, plus its follow-up delays."""

from __future__ import annotations

from datetime import datetime, timedelta

from worker.runtime import Runtime
from worker.windows import SendWindow


def finish_estimate(
    runtime: Runtime,
    sends: dict[str, int],
    capacities: dict[str, int],
    *,
    window: SendWindow | None,
    start: datetime,
    followups_s: float = 0.0,
) -> datetime | None:
    """When the last send should go: an account makes at most its cap a day, no faster than its
    mean gap allows within the day's window, on the window's days; follow-ups add their
    delays. An estimate: replies, skips and rate limits move it."""
    if not any(sends.values()):
        return None
    settings = runtime.settings
    mean_gap_s = max((settings.pace_min_seconds + settings.pace_max_seconds) / 2, 1e-9)
    open_s, days_open = 86400.0, 7
    if window is not None:
        open_s = window.open_minutes * 60.0
        days_open = len(window.days)
    days = (
        max(
            count / min(capacities.get(name, settings.daily_limit), open_s / mean_gap_s)
            for name, count in sends.items()
        )
        * 7
        / days_open
    )
    return start + timedelta(days=days, seconds=followups_s)
