"""Rewrite recorded profile URLs and public ids in their canonical form (lower-case, one
percent-encoding), so people recorded before it count for "never contact twice".

A data migration: it reads each distinct recipient once and rewrites only those whose form
changed. Recipient flags that become the same person are merged, keeping the earliest marks.
There is no way back (the original spelling is not kept), so downgrade leaves the values.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote

from alembic import op
from sqlalchemy import Connection, text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _renames(connection: Connection, table: str) -> dict[str, str]:
    # URNs never change: only URLs and bare public ids can have another spelling.
    rows = connection.execute(
        text(f"SELECT DISTINCT recipient FROM {table} WHERE recipient NOT LIKE 'urn:%'")  # noqa: S608 - table names are this module's own constants
    )
    renames = {}
    for (value,) in rows:
        canonical = _canonical(value)
        if canonical is not None and canonical != value:
            renames[value] = canonical
    return renames


_URL = "https://www.linkedin.com/in/"


def _canonical(value: str) -> str | None:
    """The form worker.recipients gives today, frozen here as it was when this migration was
    written: the profile name percent-decoded, NFC, lower-cased, percent-encoded again. Values
    recorded before were a URL with this prefix or a bare name, in ASCII."""
    prefix = _URL if value.startswith(_URL) else ""
    try:
        name = unquote(value.removeprefix(prefix), errors="strict")
    except UnicodeDecodeError:
        return None  # left as recorded
    name = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).lower())
    return prefix + quote(name, safe="")


def upgrade() -> None:
    connection = op.get_bind()
    for old, new in _renames(connection, "deliveries").items():
        connection.execute(
            text("UPDATE deliveries SET recipient = :new WHERE recipient = :old"),
            {"old": old, "new": new},
        )
    for old, new in _renames(connection, "recipient_flags").items():
        _merge_flag(connection, old, new)


def _merge_flag(connection: Connection, old: str, new: str) -> None:
    exists = connection.execute(
        text("SELECT 1 FROM recipient_flags WHERE recipient = :new"), {"new": new}
    ).first()
    if exists is None:
        connection.execute(
            text("UPDATE recipient_flags SET recipient = :new WHERE recipient = :old"),
            {"old": old, "new": new},
        )
        return
    for column in ("replied_at", "opted_out_at"):
        connection.execute(
            text(
                f"UPDATE recipient_flags SET {column} = (SELECT {column} FROM recipient_flags"  # noqa: S608 - column names are this module's own constants
                f" WHERE recipient = :old) WHERE recipient = :new AND ({column} IS NULL OR"
                f" {column} > (SELECT {column} FROM recipient_flags WHERE recipient = :old))"
            ),
            {"old": old, "new": new},
        )
    connection.execute(text("DELETE FROM recipient_flags WHERE recipient = :old"), {"old": old})


def downgrade() -> None:
    """The original spellings are not kept: the canonical values stay."""
