"""The database tables: one row per delivery, one per provider call. The database is the
source of truth; Redis only indexes what is here."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Dialect, Index, Text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class Status(StrEnum):
    """A delivery's state. The last five are terminal."""

    WAITING = "waiting"  # a follow-up step, until the step before it is sent
    QUEUED = "queued"  # waiting in its account's queue (first try, retry or rate-limit pause)
    SENDING = "sending"  # claimed by a worker; the provider call may be under way
    CONFIRMING = "confirming"  # OutX accepted the task; waiting for its status
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # may have been sent; never resent without an operator's say-so
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


TERMINAL = frozenset({Status.SENT, Status.FAILED, Status.UNKNOWN, Status.CANCELLED, Status.SKIPPED})


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; outreach stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _utc(nullable: bool = True) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class Delivery(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_account", "status", "account"),
        Index("ix_deliveries_recipient", "recipient"),
        # "Never contact twice" looks a person up by either name (store.contacted).
        Index("ix_deliveries_recipient_urn", "recipient_urn"),
        Index("ix_deliveries_campaign_step", "campaign", "step", "status"),
        # The scheduler's repair pass reads queued rows changed since its previous pass.
        Index("ix_deliveries_status_updated", "status", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=128)
    campaign: str | None = Field(default=None, max_length=200)
    step: int = 0
    account: str = Field(max_length=200)
    provider: str = Field(max_length=32)
    recipient: str = Field(max_length=500)
    text: str = Field(sa_column=Column(Text, nullable=False))
    subject: str | None = Field(default=None, max_length=500)
    inmail: bool = False
    media_link: str | None = Field(default=None, max_length=2000)
    media_type: str | None = Field(default=None, max_length=100)
    media_base64: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    media_ref: str | None = Field(default=None, max_length=64)  # a MediaRecord's sha256
    conversation: str | None = Field(default=None, max_length=500)  # reply into this one
    variant: str | None = Field(default=None, max_length=40)  # a campaign step's A/B variant
    after_s: float | None = None  # a follow-up: due this long after the previous step was sent

    status: Status = Field(default=Status.QUEUED, max_length=16)
    attempts: int = 0
    rate_limits: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    message_urn: str | None = Field(default=None, max_length=500)
    conversation_id: str | None = Field(default=None, max_length=500)
    task_id: str | None = Field(default=None, max_length=100)
    thread_id: str | None = Field(default=None, max_length=100)
    recipient_urn: str | None = Field(default=None, max_length=500)

    created_at: datetime = Field(sa_column=_utc(nullable=False))
    due_at: datetime = Field(sa_column=_utc(nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=_utc())
    sent_at: datetime | None = Field(default=None, sa_column=_utc())
    poll_at: datetime | None = Field(default=None, sa_column=_utc())
    confirm_by: datetime | None = Field(default=None, sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc(nullable=False))


class MediaRecord(SQLModel, table=True):
    """A file a campaign step attaches, stored once however many deliveries carry it."""

    __tablename__ = "media"

    ref: str = Field(primary_key=True, max_length=64)  # sha256 of the content
    content_type: str = Field(max_length=100)
    data_base64: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class ProfileUrn(SQLModel, table=True):
    """A profile URL resolved to its person URN (OutX Fetch Profile), once per profile: the
    URN, or why it could not be found."""

    __tablename__ = "profile_urns"

    recipient: str = Field(primary_key=True, max_length=500)  # the canonical profile URL
    urn: str | None = Field(default=None, max_length=500)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    resolved_at: datetime = Field(sa_column=_utc(nullable=False))


class CampaignStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Campaign(SQLModel, table=True):
    """A campaign's settings as started; the worker reads its window, cap and status."""

    __tablename__ = "campaigns"

    name: str = Field(primary_key=True, max_length=200)
    status: CampaignStatus = Field(default=CampaignStatus.RUNNING, max_length=16)
    accounts: str = Field(sa_column=Column(Text, nullable=False))  # comma-separated
    steps: int
    daily_limit: int | None = None
    window_days: str | None = Field(default=None, max_length=20)  # "0,1,2,3,4" (0 = Monday)
    window_start_minutes: int | None = None
    window_end_minutes: int | None = None
    recontact: bool = False
    # When a follow-up's reply check keeps failing past the longest wait: "send" or "hold".
    on_unreadable: str = Field(default="hold", max_length=8)
    # The campaign file as parsed (JSON; files by their stored reference): `add-leads` renders
    # new recipients from it exactly as the first ones.
    spec: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    updated_at: datetime = Field(sa_column=_utc(nullable=False))


class RecipientFlag(SQLModel, table=True):
    """What a recipient told us: they replied (sequences stop) or opted out (never again)."""

    __tablename__ = "recipient_flags"

    recipient: str = Field(primary_key=True, max_length=500)
    replied_at: datetime | None = Field(default=None, sa_column=_utc())
    opted_out_at: datetime | None = Field(default=None, sa_column=_utc())


class Attempt(SQLModel, table=True):
    """One provider call made for a delivery: a send or an OutX status check."""

    __tablename__ = "attempts"
    # Daily caps count an account's sends since its local midnight.
    __table_args__ = (Index("ix_attempts_account_started", "account", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="deliveries.id", index=True)
    account: str = Field(max_length=200)
    kind: str = Field(max_length=8)  # "send" or "check"
    started_at: datetime = Field(sa_column=_utc(nullable=False))
    outcome: str = Field(max_length=16)
    http_status: int | None = None
    latency_ms: float = 0.0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReplyHow(StrEnum):
    """How a reply came to be recorded."""

    FOLLOW_UP_CHECK = "follow_up_check"  # read just before a follow-up was sent
    INBOX = "inbox"  # the periodic inbox sweep
    MANUAL = "manual"  # `outreach recipients mark-replied`
    IMPORT = "import"  # `outreach replies import` (found elsewhere, e.g. for OutX senders)


REPLY_TEXT_CHARS = 500  # how much of a reply's text is kept


class ReplyRecord(SQLModel, table=True):
    """A recipient's answer, once: the sequence it stopped, and how it was found."""

    __tablename__ = "replies"
    __table_args__ = (
        Index("ix_replies_campaign_step", "campaign", "step"),
        Index("ix_replies_recipient", "recipient"),
        Index("ix_replies_received_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Recipient, account and time: the same answer found twice (by the check before a
    # follow-up and by the sweep) is one row.
    key: str = Field(unique=True, max_length=64)
    recipient: str = Field(max_length=500)
    account: str | None = Field(default=None, max_length=200)
    campaign: str | None = Field(default=None, max_length=200)
    step: int | None = None  # the last step sent before the reply (0 = the first), if known
    conversation: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(sa_column=_utc(nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    how: str = Field(max_length=16)  # a ReplyHow
    recorded_at: datetime = Field(sa_column=_utc(nullable=False))


class ApiKey(SQLModel, table=True):
    """A key for the HTTP API (`outreach api-keys create`). Only its SHA-256 is kept: the key
    is shown once and cannot be read back from here."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    prefix: str = Field(max_length=16)  # the key's first characters, to tell keys apart
    key_hash: str = Field(unique=True, max_length=64)
    read_only: bool = False
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_utc())


class WebhookEndpoint(SQLModel, table=True):
    """A receiver of events (`outreach webhooks add`). Its signing secret stays in the
    environment variable named here; the database never holds it."""

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: str = Field(max_length=200)  # comma-separated event types
    secret_env: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class WebhookEvent(SQLModel, table=True):
    """The outbox: one event for one endpoint, written in the same transaction as the change
    it describes, then delivered (at least once) until it is `delivered` or `dead`."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id", index=True)
    message_id: str = Field(max_length=64)  # `webhook-id`: the same on every retry
    event_type: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    state: str = Field(default="pending", max_length=12)  # pending, delivered or dead
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_utc())
    delivered_at: datetime | None = Field(default=None, sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc(nullable=False))
