"""API keys: made here, shown once, kept only as a SHA-256 digest. A key is 32 random bytes,
so a plain digest is as strong as a slow hash would be.

The API checks keys against a cached copy of the table (`KeyCache`): making or revoking a key
changes a version in Redis, which the cache compares on every request, so a revoked key is
refused from the moment `revoke` returns, and a check costs one Redis GET, not a query."""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from worker import keys
from worker.errors import OutreachError
from worker.models import ApiKey

KEY_PREFIX = "oak_"  # "outreach API key": recognisable in a leaked file or a secret scanner
SHOWN_CHARS = 12  # how much of a key `api-keys list` shows, to tell keys apart


@dataclass(frozen=True)
class Caller:
    """Who a request came from: the key's name, and whether it may change anything."""

    name: str
    read_only: bool


@dataclass(frozen=True)
class NewKey:
    name: str
    key: str  # the only time the key itself exists outside its holder's hands
    read_only: bool


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, engine: Engine, redis: Redis):
        self.engine = engine
        self.redis = redis  # where a change is announced to running APIs

    def create(self, name: str, *, read_only: bool = False) -> NewKey:
        if not name.strip():
            raise OutreachError("an API key needs a name (who or what will use it)")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKey(
            name=name,
            prefix=key[:SHOWN_CHARS],
            key_hash=digest(key),
            read_only=read_only,
            created_at=datetime.now(UTC),
        )
        try:
            with Session(self.engine) as session:
                session.add(row)
                session.commit()
        except IntegrityError:
            raise OutreachError(
                f"an API key named {name!r} exists; choose another name, or revoke it first"
                f" (`outreach api-keys revoke {name}`)"
            ) from None
        self._announce()
        return NewKey(name, key, read_only)

    def all(self) -> list[ApiKey]:
        with Session(self.engine) as session:
            return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))

    def revoke(self, name: str) -> None:
        """Revoke the key named `name`: it is refused from the next request on. The row stays,
        so the name is not reused by mistake and `list` shows when it was revoked."""
        with Session(self.engine) as session:
            row = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
            if row is None:
                known = ", ".join(k.name for k in self.all()) or "none"
                raise OutreachError(f"no API key named {name!r} (keys: {known})")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
                session.add(row)
                session.commit()
        self._announce()

    def _announce(self) -> None:
        """Tell running APIs the keys changed (after the commit: they reload what it wrote).
        Should Redis be away, they notice within `KeyCache.max_age_s`."""
        self.redis.set(keys.API_KEYS_VERSION, secrets.token_hex(8))

    def active(self) -> dict[str, Caller]:
        """Every key not revoked, by digest."""
        statement = select(ApiKey.key_hash, ApiKey.name, ApiKey.read_only).where(
            col(ApiKey.revoked_at).is_(None)
        )
        with Session(self.engine) as session:
            return {row[0]: Caller(row[1], row[2]) for row in session.exec(statement)}

    def caller(self, key: str) -> Caller | None:
        """The caller holding `key`, or None for a key that is unknown or revoked."""
        if not key.startswith(KEY_PREFIX):
            return None
        statement = select(ApiKey.name, ApiKey.read_only).where(
            ApiKey.key_hash == digest(key), col(ApiKey.revoked_at).is_(None)
        )
        with Session(self.engine) as session:
            found = session.exec(statement).first()
        return None if found is None else Caller(found[0], found[1])


class KeyCache:
    """`ApiKeys.caller` from memory: the table of active keys, reloaded when the version in
    Redis changes, and at least every `max_age_s` (a flushed Redis forgets the version). If
    Redis cannot be read, every check goes to the database."""

    def __init__(self, api_keys: ApiKeys, max_age_s: float = 10.0):
        self.api_keys = api_keys
        self.redis = api_keys.redis
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._callers: dict[str, Caller] = {}
        self._version: bytes | str | None = None
        self._loaded_at = -math.inf

    def caller(self, key: str) -> Caller | None:
        if not key.startswith(KEY_PREFIX):
            return None
        try:
            version = self.redis.get(keys.API_KEYS_VERSION)
        except RedisError:
            return self.api_keys.caller(key)
        with self._lock:
            stale = time.monotonic() - self._loaded_at > self.max_age_s
            if stale or version != self._version:
                self._callers = self.api_keys.active()
                self._version, self._loaded_at = version, time.monotonic()
            return self._callers.get(digest(key))
