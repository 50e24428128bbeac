"""Alembic's environment: runs on the connection `worker.schema` hands over, never on a URL
of its own, so the same code migrates PostgreSQL in production and SQLite in the tests."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlmodel import SQLModel

import worker.models  # noqa: F401 - registers the tables on SQLModel.metadata
from worker.models import UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write portable column types into new migrations, not this package's wrappers."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if type_ == "type" and type(obj).__name__ == "AutoString":  # sqlmodel's str column
        return f"sa.String(length={obj.length})"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_item=render_item,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
