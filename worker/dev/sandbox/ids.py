"""Stable made-up identifiers: the same seed always gives the same id, so the same sender and
recipient meet in the same conversation on every run."""

from __future__ import annotations

import hashlib


def fake_id(seed: str) -> str:
    """A stable made-up identifier, so the same sender and recipient get the same conversation."""
    return hashlib.sha256(seed.encode()).hexdigest()[:24]


def fake_member_id(seed: str) -> str:
    """A stable made-up LinkedIn member id in the ACoAA… form."""
    return "ACoAA" + fake_id(seed)[:20]
