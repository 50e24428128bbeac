"""Replies: the table of recipients' answers, and the campaign's choice when a follow-up's
reply check keeps failing (`on_unreadable`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("conversation", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_replies_campaign_step", "replies", ["campaign", "step"])
    op.create_index("ix_replies_recipient", "replies", ["recipient"])
    op.create_index("ix_replies_received_at", "replies", ["received_at"])
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("on_unreadable", sa.String(length=8), nullable=False, server_default="hold")
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("on_unreadable")
    op.drop_index("ix_replies_received_at", table_name="replies")
    op.drop_index("ix_replies_recipient", table_name="replies")
    op.drop_index("ix_replies_campaign_step", table_name="replies")
    op.drop_table("replies")
