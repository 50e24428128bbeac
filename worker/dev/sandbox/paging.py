"""Paging for the read endpoints: page sizes as the docs give them, and opaque cursors over
lists ordered by most recent activity first.

A list cursor is base64 of `DESCENDING&<ms>&<key>`, the form LinkUp's inbox example decodes to:
the position of the page's last item, so the next page starts after it even when new activity
has reordered the list in between.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Position = tuple[int, str]  # (activity in ms, a tie-breaking key), compared newest first


def page_size(value: object, default: int, maximum: int | None = None) -> int | None:
    """The page size a request asks for (a number, or digits in a query string), capped at
    `maximum`; None when it is not a positive whole number."""
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value if maximum is None else min(value, maximum)


def timestamp(value: object) -> int | None:
    """A ms timestamp given as a number or digits; ValueError when it is neither."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    raise ValueError(f"not a timestamp: {value!r}")


def encode_cursor(position: Position) -> str:
    at_ms, key = position
    return base64.b64encode(f"DESCENDING&{at_ms}&{key}".encode()).decode()


def decode_cursor(cursor: str) -> Position:
    """The position a cursor holds; ValueError when it is not one this sandbox gave."""
    order, at_ms, key = base64.b64decode(cursor, validate=True).decode().split("&", 2)
    if order != "DESCENDING":
        raise ValueError("not a sandbox cursor")
    return int(at_ms), key


def page_after(
    items: Sequence[Item], position: Callable[[Item], Position], cursor: object, size: int
) -> tuple[list[Item], str | None]:
    """The page of `items` (sorted newest first) after `cursor`, and the cursor of the next page
    (None on the last). ValueError when the cursor is not one this sandbox gave."""
    if cursor is not None and cursor != "":
        if not isinstance(cursor, str):
            raise ValueError("a cursor is a string")
        after = decode_cursor(cursor)
        items = [item for item in items if position(item) < after]
    page = list(items[:size])
    return page, encode_cursor(position(page[-1])) if len(items) > size else None
