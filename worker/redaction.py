"""Secrets and their redaction: the one place that knows which strings must never be shown.

Every secret outreach reads becomes a `Secret`, whose value is registered here the moment it is
created; `redact()` then blanks those values out of any text (log lines, tracebacks, CLI output).
"""

from __future__ import annotations

import threading
from typing import Final

MASK: Final = "[REDACTED]"
# Values this short would blank out ordinary words; no real API key or token is this short.
_MIN_REDACTED_LEN: Final = 6


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.known: set[str] = set()
        # Longest first, so a secret that contains another is blanked whole.
        self.ordered: tuple[str, ...] = ()


_registry = _Registry()


def register_secret(value: str) -> None:
    """Remember `value` so `redact()` removes it from any text from now on."""
    if len(value) < _MIN_REDACTED_LEN:
        return
    with _registry.lock:
        if value not in _registry.known:
            _registry.known.add(value)
            _registry.ordered = tuple(sorted(_registry.known, key=len, reverse=True))


def redact(text: str) -> str:
    """Return `text` with every registered secret replaced by a mask."""
    for value in _registry.ordered:
        if value in text:
            text = text.replace(value, MASK)
    return text


class Secret:
    """A credential that prints as a mask; `reveal()` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        register_secret(value)
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Secrets must not travel in pickles (Celery messages, caches): refuse loudly.
        raise TypeError("a Secret cannot be pickled; pass an account name instead")
