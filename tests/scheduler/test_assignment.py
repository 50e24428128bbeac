"""Sender assignment: proportional to capacity, only to providers that can reach, repeatable."""

from __future__ import annotations

from collections import Counter

from scheduler.assignment import Assigner

POOL = [("big", "linkup", 20), ("small", "linkup", 10), ("urns", "outx", 10)]


def test_recipients_spread_in_proportion_to_capacity() -> None:
    assigner = Assigner(POOL)
    picks = Counter(assigner.assign(lambda provider: provider == "linkup") for _ in range(30))
    assert picks == {"big": 20, "small": 10}


def test_only_providers_that_accept_are_considered() -> None:
    assigner = Assigner(POOL)
    assert assigner.assign(lambda provider: provider == "outx") == "urns"
    assert assigner.assign(lambda provider: False) is None


def test_the_same_leads_get_the_same_accounts() -> None:
    def run() -> list[str | None]:
        assigner = Assigner(POOL)
        return [assigner.assign(lambda p, i=i: i % 3 != 0 or p == "outx") for i in range(40)]

    assert run() == run()
    assert set(run()) == {"big", "small", "urns"}
