"""The live page's charts as geometry: pure functions from counts to the boxes an inline SVG
draws (the template only writes them out), so no chart library and no script is needed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

HOURS = 24
LABEL_W = 96  # the account names' column
SLOT_W = 22  # one hour
BAR_W = 16
ROW_H = 52
BAR_H = 38  # the tallest bar; a row's remaining height separates it from the next
AXIS_H = 22
TOTAL_W = 72  # the totals' column
PALETTE = 6  # colours in the stylesheet: c0 … c5

FUNNEL_LABEL_W = 96
FUNNEL_AREA_W = 240
FUNNEL_TEXT_W = 100
FUNNEL_BAR_H = 24
FUNNEL_GAP = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    hour: datetime  # the hour's start, UTC


@dataclass(frozen=True)
class HourlyRow:
    account: str
    colour: int  # index into the palette
    top: float
    baseline: float
    bars: list[Bar]
    total: int


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class HourlyChart:
    width: float
    height: float
    rows: list[HourlyRow]
    ticks: list[Tick]
    peak: int  # sends in the busiest hour of any account: the bars' common scale
    since: datetime


@dataclass(frozen=True)
class Stage:
    label: str
    count: int
    x: float
    y: float
    width: float
    share: float | None  # of the first stage


@dataclass(frozen=True)
class Funnel:
    width: float
    height: float
    stages: list[Stage]


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def first_hour(now: datetime) -> datetime:
    """The start of the oldest of the 24 hours shown, the current one being the last."""
    return hour_floor(now) - timedelta(hours=HOURS - 1)


def hourly_chart(
    counts: Mapping[str, Mapping[datetime, int]], accounts: Sequence[str], now: datetime
) -> HourlyChart:
    """One row of 24 hourly bars per account (the current hour last), on one scale so rows
    compare; `counts` maps account -> hour start -> sends."""
    since = first_hour(now)
    hours = [since + timedelta(hours=i) for i in range(HOURS)]
    peak = max((n for by_hour in counts.values() for n in by_hour.values()), default=0)
    rows = []
    for index, account in enumerate(accounts):
        by_hour = counts.get(account, {})
        top = index * ROW_H
        baseline = top + BAR_H
        bars = []
        for slot, hour in enumerate(hours):
            count = by_hour.get(hour, 0)
            if count <= 0:
                continue
            height = max(round(count / peak * BAR_H, 1), 1.0)
            x = LABEL_W + slot * SLOT_W + (SLOT_W - BAR_W) / 2
            bars.append(Bar(x, round(baseline - height, 1), BAR_W, height, count, hour))
        total = sum(by_hour.get(hour, 0) for hour in hours)
        rows.append(HourlyRow(account, index % PALETTE, top, baseline, bars, total))
    ticks = [
        Tick(LABEL_W + slot * SLOT_W + SLOT_W / 2, f"{hour:%H}")
        for slot, hour in enumerate(hours)
        if slot % 3 == 2 or slot == HOURS - 1
    ]
    height = max(len(accounts), 1) * ROW_H + AXIS_H
    return HourlyChart(LABEL_W + HOURS * SLOT_W + TOTAL_W, height, rows, ticks, peak, since)


def funnel(stages: Sequence[tuple[str, int]]) -> Funnel:
    """Centred bars, each as wide as its count against the largest stage's."""
    widest = max((count for _, count in stages), default=0)
    first = stages[0][1] if stages else 0
    drawn = []
    for index, (label, count) in enumerate(stages):
        width = round(count / widest * FUNNEL_AREA_W, 1) if widest else 0.0
        if count and width < 2:
            width = 2.0
        x = FUNNEL_LABEL_W + (FUNNEL_AREA_W - width) / 2
        y = index * (FUNNEL_BAR_H + FUNNEL_GAP)
        share = round(count / first, 4) if first else None
        drawn.append(Stage(label, count, round(x, 1), y, width, share))
    height = max(len(stages) * (FUNNEL_BAR_H + FUNNEL_GAP) - FUNNEL_GAP, 0)
    return Funnel(FUNNEL_LABEL_W + FUNNEL_AREA_W + FUNNEL_TEXT_W, height, drawn)
