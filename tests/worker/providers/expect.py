"""The one assertion every outcome-classification table makes."""

from __future__ import annotations

from typing import Any


def assert_outcome(outcome: object, expected: type, fields: dict[str, Any]) -> None:
    """`outcome` is an `expected` whose `fields` have the given values."""
    assert isinstance(outcome, expected), outcome
    for name, value in fields.items():
        assert getattr(outcome, name) == value, (name, outcome)
