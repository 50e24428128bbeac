"""Campaigns as people run them: a step's A/B variant on each delivery, attached files stored
once (`media`, referenced by `deliveries.media_ref`), the campaign file kept with its campaign
(`campaigns.spec`, for `add-leads`), and profile URLs resolved to URNs (`profile_urns`, OutX
Fetch Profile's answers, cached), and deliveries indexed by the URN a send answer named, so
"never contact twice" finds a person by either name without scanning the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("variant", sa.String(length=40), nullable=True))
    _index_recipient_urns()
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spec", sa.Text(), nullable=True))
    op.create_table(
        "media",
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data_base64", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ref"),
    )
    op.create_table(
        "profile_urns",
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("urn", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("recipient"),
    )


def _index_recipient_urns() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # As in 0002: built beside the workers, not blocking their writes.
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_deliveries_recipient_urn",
                "deliveries",
                ["recipient_urn"],
                postgresql_concurrently=True,
                if_not_exists=True,
            )
        return
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_recipient_urn", ["recipient_urn"])


def downgrade() -> None:
    op.drop_table("profile_urns")
    op.drop_table("media")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("spec")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_recipient_urn")
        batch_op.drop_column("variant")
        batch_op.drop_column("media_ref")
