"""The long-lived parts one process needs (database, Redis, accounts, HTTP client), built once
per process from the settings."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import httpx
import redis
from sqlalchemy.engine import Engine

from worker import schema
from worker.accounts import Accounts, load_accounts
from worker.campaign_store import CampaignStore
from worker.database import create_engine
from worker.delivery_reports import DeliveryReports
from worker.due_index import DueIndex
from worker.errors import ConfigurationError
from worker.policy import Policy
from worker.profile_store import ProfileStore
from worker.providers.http import shared_client
from worker.recipient_store import RecipientStore
from worker.redis_connect import redis_client
from worker.settings import Settings, get_settings
from worker.store import DeliveryStore
from worker.webhooks.outbox import Outbox
from worker.webhooks.store import WebhookStore


def redis_url(settings: Settings) -> str:
    """The configured Redis; or, when development asks for it, the embedded one in the data
    directory (started if needed)."""
    if settings.redis_url:
        return settings.redis_url
    if not settings.embedded_redis:
        raise ConfigurationError(
            "OUTREACH_REDIS_URL is not set: point it at your Redis (redis://HOST:6379/0),"
            " or pass --embedded to start an embedded Redis for"
            " development (it needs the 'embedded' extra)"
        )
    from worker.dev.embedded import EmbeddedRedis  # noqa: PLC0415 - development only

    return EmbeddedRedis(Path(settings.data_dir)).ensure_running().url


def policy_from(settings: Settings) -> Policy:
    return Policy(
        pace_min_s=settings.pace_min_seconds,
        pace_max_s=settings.pace_max_seconds,
        retry_base_s=settings.retry_base_seconds,
        retry_max_s=settings.retry_max_seconds,
        max_attempts=settings.max_attempts,
        rate_limit_pause_s=settings.rate_limit_pause_seconds,
        rate_limit_pause_max_s=settings.rate_limit_pause_max_seconds,
        max_rate_limits=settings.max_rate_limits,
        breaker_failures=settings.breaker_failures,
        check_first_s=settings.outx_poll_seconds,
        check_max_s=settings.outx_poll_max_seconds,
        confirm_within_s=settings.outx_confirm_timeout_seconds,
    )


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def redis_url(self) -> str:
        return redis_url(self.settings)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis_client(self.redis_url)

    @cached_property
    def due_index(self) -> DueIndex:
        return DueIndex(self.redis)

    @cached_property
    def engine(self) -> Engine:
        """The one database engine the stores share (the schema checked once)."""
        url = self.settings.resolved_database_url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        schema.prepare(engine)
        return engine

    @cached_property
    def store(self) -> DeliveryStore:
        """Deliveries and attempts."""
        return DeliveryStore(self.engine)

    @cached_property
    def reports(self) -> DeliveryReports:
        """What campaign and account reports count in the delivery table."""
        return DeliveryReports(self.engine)

    @cached_property
    def campaigns(self) -> CampaignStore:
        return CampaignStore(self.engine)

    @cached_property
    def recipients(self) -> RecipientStore:
        return RecipientStore(self.engine)

    @cached_property
    def profiles(self) -> ProfileStore:
        """Profile URLs resolved to URNs (OutX Fetch Profile)."""
        return ProfileStore(self.engine)

    @cached_property
    def accounts(self) -> Accounts:
        return load_accounts(self.settings.accounts_file)

    @cached_property
    def policy(self) -> Policy:
        return policy_from(self.settings)

    @property
    def http(self) -> httpx.Client:
        return shared_client(self.settings)

    @cached_property
    def webhooks(self) -> WebhookStore:
        """Webhook endpoints and the outbox of their events."""
        return WebhookStore(self.engine)

    @cached_property
    def outbox(self) -> Outbox:
        """Which endpoints listen (cached a few seconds), for the code that writes events."""
        return Outbox(self.webhooks, self.settings.webhook_endpoints_cache_seconds)

    @cached_property
    def webhook_http(self) -> httpx.Client:
        """The client webhooks are POSTed with: no redirects, the webhook timeout."""
        timeout_s = self.settings.webhook_timeout_seconds
        return httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False)


_lock = threading.Lock()
_runtimes: dict[int, Runtime] = {}


def get_runtime() -> Runtime:
    """This process's runtime (a forked child builds its own: connections do not survive fork)."""
    with _lock:
        pid = os.getpid()
        if pid not in _runtimes:
            _runtimes.clear()
            _runtimes[pid] = Runtime(get_settings())
        return _runtimes[pid]
