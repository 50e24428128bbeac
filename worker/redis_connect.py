"""The one Redis URL turned into clients: a redis-py client for the index and pacing, and
Celery's broker settings. A `redis+sentinel://` URL names Sentinels; both follow failovers.

    redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB][?OPTIONS]

OPTIONS: `socket_timeout` and `socket_connect_timeout` (seconds), `sentinel_password` (when
the Sentinels themselves require one). The password is the Redis primary's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from worker.errors import ConfigurationError
from worker.redaction import Secret

SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379
# A primary that dies with its machine closes no connection: without a bound, a call to it
# would wait for TCP to give up (minutes) instead of asking the Sentinels for the new one.
SOCKET_TIMEOUT_S = 5.0
SOCKET_CONNECT_TIMEOUT_S = 2.0
_FORM = "redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]"
_SECONDS_OPTIONS = ("socket_timeout", "socket_connect_timeout")


@dataclass(frozen=True)
class SentinelTarget:
    """What a Sentinel URL names: the Sentinels to ask, and the service (and database) to use."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: Secret | None = None
    sentinel_password: Secret | None = None
    socket_timeout_s: float = SOCKET_TIMEOUT_S
    socket_connect_timeout_s: float = SOCKET_CONNECT_TIMEOUT_S

    def socket_options(self) -> dict[str, Any]:
        return {
            "socket_timeout": self.socket_timeout_s,
            "socket_connect_timeout": self.socket_connect_timeout_s,
        }

    def credentials(self) -> dict[str, Any]:
        """How to log in to the primary."""
        given = {"username": self.username, "password": self.password}
        return {k: v.reveal() if isinstance(v, Secret) else v for k, v in given.items() if v}

    def sentinel_options(self, sockets: dict[str, Any] | None = None) -> dict[str, Any]:
        """How to connect to the Sentinels themselves. One that does not answer is not asked
        again: the next one is (redis-py's default retries cost ~4 s per Sentinel that is down,
        at every reconnect)."""
        options = dict(self.socket_options() if sockets is None else sockets)
        options["retry"] = Retry(NoBackoff(), 0)
        if self.sentinel_password is not None:
            options["password"] = self.sentinel_password.reveal()
        return options


def is_sentinel(url: str) -> bool:
    return url.startswith(SENTINEL_SCHEME)


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The Sentinels, service and database a `redis+sentinel://` URL names; a
    ConfigurationError saying what is wrong otherwise (never quoting the password)."""
    if not is_sentinel(url):
        raise _invalid(f"it must start with {SENTINEL_SCHEME}")
    # The credentials first: a password may hold any character, even where not encoded.
    userinfo, _, location = url.removeprefix(SENTINEL_SCHEME).rpartition("@")
    location, _, query = location.partition("?")
    hosts, _, path = location.partition("/")
    username, password = _credentials(userinfo)
    sentinels = tuple(_address(i, entry) for i, entry in enumerate(hosts.split(","), 1))
    service, db = _service_and_db(path)
    options = _options(query)
    sentinel_password = options.pop("sentinel_password", None)
    seconds = {name: _seconds(name, value) for name, value in options.items()}
    return SentinelTarget(
        sentinels=sentinels,
        service=service,
        db=db,
        username=username,
        password=Secret(password) if password else None,
        sentinel_password=Secret(sentinel_password) if sentinel_password else None,
        socket_timeout_s=seconds.get("socket_timeout", SOCKET_TIMEOUT_S),
        socket_connect_timeout_s=seconds.get("socket_connect_timeout", SOCKET_CONNECT_TIMEOUT_S),
    )


def redis_client(url: str, **kwargs: Any) -> redis.Redis:
    """A client of the Redis `url` names. Through Sentinels it always talks to the current
    primary: a call during a failover raises ConnectionError, later calls reach the new one."""
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **kwargs)
    target = parse_sentinel_url(url)
    options = {**target.socket_options(), **target.credentials(), **kwargs}
    sockets = {k: v for k, v in options.items() if k.startswith("socket_")}
    # Older redis releases carry no annotations here (8.2 does), hence the two ignores.
    sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
        list(target.sentinels), sentinel_kwargs=target.sentinel_options(sockets)
    )
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call, unused-ignore]
        target.service, db=target.db, **options
    )
    return client


def celery_broker(url: str) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL for `url`, and the transport options it needs besides."""
    if url.startswith("unix://"):
        return url.replace("unix://", "redis+socket://", 1), {}
    if not is_sentinel(url):
        return url, {}
    target = parse_sentinel_url(url)
    credentials = ""
    if target.password is not None or target.username is not None:
        user = quote(target.username or "", safe="")
        secret = "" if target.password is None else quote(target.password.reveal(), safe="")
        credentials = f"{user}:{secret}@"
    # kombu reads the credentials and database from whichever Sentinel it tries: give all.
    broker = ";".join(
        f"sentinel://{credentials}{_netloc(host, port)}/{target.db}"
        for host, port in target.sentinels
    )
    options = {
        "master_name": target.service,
        **target.socket_options(),
        "sentinel_kwargs": target.sentinel_options(),
    }
    return broker, options


def _invalid(problem: str) -> ConfigurationError:
    return ConfigurationError(f"OUTREACH_REDIS_URL: {problem}; expected {_FORM}")


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    if not colon:  # redis://PASSWORD@host is how redis-py spells a password alone, too
        return None, unquote(user)
    return unquote(user) or None, unquote(password) or None


def _address(number: int, entry: str) -> tuple[str, int]:
    """`HOST[:PORT]` (an IPv6 host in brackets) as (host, port). Errors name the entry by
    its place, not its text: a URL missing its `@` would show the password here."""
    entry = entry.strip()
    if entry.startswith("["):
        host, bracket, tail = entry[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise _invalid(f"Sentinel address {number} is not HOST:PORT")
        port = tail[1:]
    else:
        host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "")
    if not host:
        raise _invalid(f"Sentinel address {number} has no host")
    if not port:
        return host, SENTINEL_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise _invalid(f"Sentinel address {number} has no valid port (1-65535)")
    return host, int(port)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _service_and_db(path: str) -> tuple[str, int]:
    parts = path.rstrip("/").split("/") if path.rstrip("/") else []
    if not parts or not parts[0]:
        raise _invalid("the service name (Sentinel's master name) is missing")
    if len(parts) > 2:
        raise _invalid("after the service name only a database number may follow")
    service = unquote(parts[0])
    if len(parts) == 1:
        return service, 0
    if not parts[1].isdigit():
        raise _invalid("the database after the service name is not a number")
    return service, int(parts[1])


def _options(query: str) -> dict[str, str]:
    known = (*_SECONDS_OPTIONS, "sentinel_password")
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in known:
            raise _invalid(f"unknown option {name!r} (known: {', '.join(known)})")
        options[name] = value
    return options


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise _invalid(f"{name} must be a number of seconds above 0")
    return seconds
