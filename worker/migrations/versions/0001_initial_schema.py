"""Initial schema: deliveries, attempts, campaigns, recipient flags.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("RUNNING", "PAUSED", "CANCELLED", name="campaignstatus"),
            nullable=False,
        ),
        sa.Column("accounts", sa.Text(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("window_days", sa.String(length=20), nullable=True),
        sa.Column("window_start_minutes", sa.Integer(), nullable=True),
        sa.Column("window_end_minutes", sa.Integer(), nullable=True),
        sa.Column("recontact", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("inmail", sa.Boolean(), nullable=False),
        sa.Column("media_link", sa.String(length=2000), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("media_base64", sa.Text(), nullable=True),
        sa.Column("conversation", sa.String(length=500), nullable=True),
        sa.Column("after_s", sa.Float(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "WAITING",
                "QUEUED",
                "SENDING",
                "CONFIRMING",
                "SENT",
                "FAILED",
                "UNKNOWN",
                "CANCELLED",
                "SKIPPED",
                name="status",
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rate_limits", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("message_urn", sa.String(length=500), nullable=True),
        sa.Column("conversation_id", sa.String(length=500), nullable=True),
        sa.Column("task_id", sa.String(length=100), nullable=True),
        sa.Column("thread_id", sa.String(length=100), nullable=True),
        sa.Column("recipient_urn", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("poll_at", sa.DateTime(), nullable=True),
        sa.Column("confirm_by", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_campaign_step", ["campaign", "step", "status"], unique=False
        )
        batch_op.create_index("ix_deliveries_recipient", ["recipient"], unique=False)
        batch_op.create_index("ix_deliveries_status_account", ["status", "account"], unique=False)

    op.create_table(
        "recipient_flags",
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("opted_out_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("recipient"),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_account_started", ["account", "started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attempts_delivery_id"), ["delivery_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempts_delivery_id"))
        batch_op.drop_index("ix_attempts_account_started")

    op.drop_table("attempts")
    op.drop_table("recipient_flags")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_account")
        batch_op.drop_index("ix_deliveries_recipient")
        batch_op.drop_index("ix_deliveries_campaign_step")

    op.drop_table("deliveries")
    op.drop_table("campaigns")
    # PostgreSQL keeps enum types after their tables; drop them so an upgrade can follow.
    sa.Enum(name="status").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="campaignstatus").drop(op.get_bind(), checkfirst=True)
