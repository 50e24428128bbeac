"""Send-window arithmetic: a table, fixed times, real time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from worker.windows import SendWindow

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_6 = SendWindow.parse(["mon", "tue", "wed", "thu", "fri"], "09:00-18:00")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # Monday 2026-11-23, 10:00 in Paris (09:00 UTC): open now.
        (_utc(2026, 11, 23, 9, 0), PARIS, _utc(2026, 11, 23, 9, 0)),
        # Monday 07:00 Paris: opens at 09:00 Paris = 08:00 UTC.
        (_utc(2026, 11, 23, 6, 0), PARIS, _utc(2026, 11, 23, 8, 0)),
        # Monday 18:00 Paris exactly: closed (the span ends before 18:00); Tuesday 09:00.
        (_utc(2026, 11, 23, 17, 0), PARIS, _utc(2026, 11, 24, 8, 0)),
        # Friday 19:00 Paris: the weekend is closed; Monday 09:00.
        (_utc(2026, 11, 27, 18, 0), PARIS, _utc(2026, 11, 30, 8, 0)),
        # The same instant is Friday 13:00 in New York: open there.
        (_utc(2026, 11, 27, 18, 0), NEW_YORK, _utc(2026, 11, 27, 18, 0)),
        # Across the spring clock change in Paris (Sunday 2027-03-28): Monday 09:00 is 07:00 UTC.
        (_utc(2027, 3, 27, 12, 0), PARIS, _utc(2027, 3, 29, 7, 0)),
    ],
)
def test_next_open(now: datetime, zone: ZoneInfo, expected: datetime) -> None:
    assert WEEKDAYS_9_TO_6.next_open(now, zone) == expected


def test_the_default_window_is_always_open() -> None:
    now = _utc(2026, 11, 29, 3, 33)  # a Sunday night
    assert SendWindow().next_open(now, PARIS) == now


def test_a_window_may_run_to_midnight() -> None:
    late = SendWindow.parse(None, "20:00-24:00")
    assert late.next_open(_utc(2026, 11, 23, 22, 59), PARIS) == _utc(2026, 11, 23, 22, 59)
    assert late.next_open(_utc(2026, 11, 23, 23, 0), PARIS) == _utc(2026, 11, 24, 19, 0)


@pytest.mark.parametrize(
    ("days", "hours", "says"),
    [
        (["mon", "funday"], None, "days must be"),
        ([], None, "days must be"),
        (None, "9-18", "hours must look like"),
        (None, "18:00-09:00", "end after they start"),
        (None, "25:00-26:00", "hours must look like"),
    ],
)
def test_bad_windows_say_what_is_wrong(
    days: list[str] | None, hours: str | None, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        SendWindow.parse(days, hours)


@pytest.mark.parametrize(
    "window",
    [SendWindow(), WEEKDAYS_9_TO_6, SendWindow.parse(["sat"], "20:30-24:00")],
)
def test_a_window_is_stored_as_minutes_and_read_back_the_same(window: SendWindow) -> None:
    days, start, end = window.to_columns()
    assert SendWindow.from_columns(days, start, end) == window


def test_no_stored_days_means_always_open() -> None:
    assert SendWindow.from_columns(None, None, None) == SendWindow()
