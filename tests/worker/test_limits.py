"""Account safety decisions: windows and daily caps, in the account's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from worker.limits import SendLimits, day_start, hold_until
from worker.windows import SendWindow

PARIS = ZoneInfo("Europe/Paris")
OFFICE = SendWindow.parse(["mon", "tue", "wed", "thu", "fri"], "09:00-18:00")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_10_PARIS = _utc(2026, 11, 23, 9, 0)


@pytest.mark.parametrize(
    ("limits", "sent", "sent_campaign", "expected"),
    [
        (SendLimits(PARIS, OFFICE, 50), 10, 0, None),
        (SendLimits(PARIS, OFFICE, 50), 50, 0, _utc(2026, 11, 24, 8, 0)),  # capped: Tuesday 9:00
        (SendLimits(PARIS, OFFICE, 50, campaign_cap=5), 10, 5, _utc(2026, 11, 24, 8, 0)),
        (SendLimits(PARIS, OFFICE, 50, campaign_cap=5), 10, 4, None),
        (SendLimits(PARIS, SendWindow(), 3), 3, 0, _utc(2026, 11, 23, 23, 0)),  # Paris midnight
    ],
)
def test_caps(limits: SendLimits, sent: int, sent_campaign: int, expected: datetime | None) -> None:
    assert hold_until(limits, MONDAY_10_PARIS, sent, sent_campaign) == expected


def test_outside_the_window_it_waits_for_the_opening() -> None:
    saturday = _utc(2026, 11, 28, 12, 0)
    assert hold_until(SendLimits(PARIS, OFFICE, 50), saturday, 0) == _utc(2026, 11, 30, 8, 0)


def test_a_capped_friday_waits_for_monday() -> None:
    friday = _utc(2026, 11, 27, 9, 0)
    assert hold_until(SendLimits(PARIS, OFFICE, 2), friday, 2) == _utc(2026, 11, 30, 8, 0)


def test_the_day_starts_at_local_midnight() -> None:
    assert day_start(_utc(2026, 11, 23, 23, 30), PARIS) == _utc(2026, 11, 23, 23, 0)
    assert day_start(_utc(2026, 11, 23, 22, 30), PARIS) == _utc(2026, 11, 22, 23, 0)
