"""Index queued deliveries by update time, for the scheduler's repair pass.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # A plain CREATE INDEX blocks every write to deliveries while it builds, which on a
        # busy table stops the workers; CONCURRENTLY builds it beside them, outside a
        # transaction (so what came before in this run is committed first).
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_deliveries_status_updated",
                "deliveries",
                ["status", "updated_at"],
                unique=False,
                postgresql_concurrently=True,
                if_not_exists=True,
            )
        return
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_status_updated", ["status", "updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_updated")
