"""Account safety, decided before a send: the send window and the daily caps, reckoned in the
account's time zone. A send that does not fit now waits for the next opening; it is never
crammed in. Pure functions of `now` and the day's counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from worker.windows import SendWindow


@dataclass(frozen=True)
class SendLimits:
    zone: ZoneInfo
    window: SendWindow
    daily_cap: int  # the account's, across all campaigns
    campaign_cap: int | None = None  # the campaign's own cap per account, if it has one


def day_start(now: datetime, zone: ZoneInfo) -> datetime:
    """When "today" began in `zone`, as aware UTC."""
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def next_day_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone) + timedelta(days=1)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def hold_until(
    limits: SendLimits, now: datetime, sent_today: int, sent_today_campaign: int = 0
) -> datetime | None:
    """None when a send may go now; else the earliest time it may."""
    opens = limits.window.next_open(now, limits.zone)
    if opens > now:
        return opens
    capped = sent_today >= limits.daily_cap or (
        limits.campaign_cap is not None and sent_today_campaign >= limits.campaign_cap
    )
    if capped:
        return limits.window.next_open(next_day_start(now, limits.zone), limits.zone)
    return None
