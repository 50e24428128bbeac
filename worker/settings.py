"""Configuration from the environment, every variable prefixed `OUTREACH_`.

The names are a public interface (README, docker-compose, Kubernetes manifests): keep them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.errors import ConfigurationError
from worker.redaction import register_secret


class Settings(BaseSettings):
    """Every knob outreach reads, with its default."""

    model_config = SettingsConfigDict(env_prefix="OUTREACH_", frozen=True, extra="ignore")

    redis_url: str | None = Field(
        default=None,
        description="Redis for queues and pacing; required unless EMBEDDED_REDIS is set.",
    )
    embedded_redis: bool = Field(
        default=False,
        description="Without a Redis URL, start an embedded Redis (development only; --embedded).",
    )
    database_url: str | None = Field(
        default=None, description="Delivery records; unset: SQLite in the data directory."
    )
    data_dir: Path = Field(
        default=Path(".outreach"), description="Where the embedded Redis and SQLite keep files."
    )
    accounts_file: Path = Field(default=Path("accounts.toml"), description="Sender accounts.")

    pace_min_seconds: float = Field(default=30.0, ge=0, description="Shortest gap between sends.")
    pace_max_seconds: float = Field(default=60.0, ge=0, description="Longest gap between sends.")

    linkup_base_url: str = "https://api.linkupapi.com"
    connectsafely_base_url: str = "https://api.connectsafely.ai"
    daily_limit: int = Field(
        default=50, ge=1, description="Sends a day per account, across all campaigns."
    )

    outx_base_url: str = "https://api.outx.ai"
    outx_poll_seconds: float = Field(default=5.0, gt=0, description="First OutX status check.")

    outx_poll_max_seconds: float = Field(default=300.0, gt=0, description="Longest check wait.")
    outx_confirm_timeout_seconds: float = Field(
        default=86400.0, gt=0, description="An OutX task unconfirmed this long ends unknown."
    )

    rate_limit_pause_seconds: float = Field(default=300.0, gt=0, description="First pause.")
    rate_limit_pause_max_seconds: float = Field(default=14400.0, gt=0)
    max_rate_limits: int = Field(default=5, ge=0, description="Then the delivery fails.")
    breaker_failures: int = Field(
        default=3,
        ge=1,
        description="Sends in a row ending in unrecognised errors, then the account pauses.",
    )
    retry_base_seconds: float = Field(default=30.0, ge=0, description="First transient retry.")
    retry_max_seconds: float = Field(default=1800.0, ge=0)
    max_attempts: int = Field(default=5, ge=1, description="Transient failures, then failed.")
    sending_timeout_seconds: float = Field(
        default=120.0, gt=0, description="A send in flight this long is marked unknown."
    )
    db_outage_grace_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long a worker holding a provider's answer keeps trying to record it"
        " while the database is away, keeping the account's slot meanwhile.",
    )
    worker_stuck_after_seconds: float = Field(
        default=60.0,
        ge=3,  # pool processes beat every second: a few missed beats are not yet a hang
        description="A worker fails /healthz when every pool process has been silent this long"
        " or has run one task for SENDING_TIMEOUT_SECONDS plus this long.",
    )

    reply_check_max_wait_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="A follow-up whose reply check keeps failing waits this long, then the"
        " campaign's on_unreadable says: send or hold.",
    )
    reply_check_retry_seconds: float = Field(
        default=60.0, gt=0, description="First retry of a failed reply check (then doubling)."
    )
    inbox_poll_seconds: float = Field(
        default=900.0, gt=0, description="How often each active account's inbox is swept."
    )
    read_min_seconds: float = Field(
        default=5.0, ge=0, description="Shortest gap between two reads by one sender."
    )

    webhook_retry_first_seconds: float = Field(
        default=5.0, gt=0, description="First retry of a webhook its receiver refused (doubling)."
    )
    webhook_retry_max_seconds: float = Field(
        default=7200.0, gt=0, description="Longest wait between two attempts of one webhook."
    )
    webhook_give_up_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="A webhook undelivered this long after its event is dead.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a webhook receiver may take to answer."
    )
    webhook_endpoints_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a process reuses the list of webhook endpoints: a new endpoint"
        " hears events from within this long.",
    )

    http_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    http_read_timeout_seconds: float = Field(default=30.0, gt=0)

    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve /metrics, /healthz and /readyz on this port; unset: not served.",
    )

    api_host: str = Field(
        default="127.0.0.1", description="`outreach api` listens here (0.0.0.0 in containers)."
    )
    api_port: int = Field(default=8080, ge=0, le=65535, description="`outreach api`'s port.")
    api_max_body_bytes: int = Field(
        default=32 << 20,
        gt=0,
        description="Largest JSON request body the API accepts (a base64 media file included).",
    )
    api_forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-Proto and -For `outreach api` trusts (comma-"
        "separated, or *): behind TLS it then knows requests came over https.",
    )
    api_max_upload_bytes: int = Field(
        default=100 << 20, gt=0, description="Largest campaign upload (spec, leads and files)."
    )

    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'outreach.db'}"

    @field_validator("linkup_base_url", "connectsafely_base_url", "outx_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        # Documented paths are appended as they are, so the base must not end in "/".
        return url.rstrip("/")

    @model_validator(mode="after")
    def _pace_window_is_ordered(self) -> Self:
        if self.pace_min_seconds > self.pace_max_seconds:
            raise ValueError(
                "OUTREACH_PACE_MIN_SECONDS must not exceed OUTREACH_PACE_MAX_SECONDS"
                f" ({self.pace_min_seconds} > {self.pace_max_seconds})"
            )
        return self


def load_settings() -> Settings:
    """Read the environment now; a bad value becomes a ConfigurationError naming the variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "OUTREACH_" + "_".join(str(p) for p in error["loc"]).upper()
            lines.append(f"{name}: {error['msg']}" if error["loc"] else error["msg"])
        # Not chained: pydantic's own text repeats the input, which may hold a password.
        raise ConfigurationError("invalid configuration: " + "; ".join(lines)) from None
    for url in (settings.redis_url, settings.database_url):
        _register_url_password(url)
    return settings


def _register_url_password(url: str | None) -> None:
    """A password inside a Redis or database URL is a secret like any API key."""
    if url:
        password = urlsplit(url).password
        if password:
            register_secret(unquote(password))
            register_secret(password)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
