"""What every benchmark runs against: the machine's Redis and PostgreSQL when
OUTREACH_TEST_REDIS_URL / OUTREACH_TEST_DATABASE_URL name them (an embedded Redis and SQLite
otherwise), and the provider sandbox as a process of its own, so it does not share the
benchmark's interpreter."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.cluster import OUTREACH
from tests.databases import migrate
from tests.ports import free_port
from worker.dev.embedded import EmbeddedRedis
from worker.dev.sandbox.control import SandboxClient


@dataclass(frozen=True)
class Services:
    work: Path  # a scratch directory, removed at the end
    redis_url: str
    database_url: str
    sandbox_url: str
    sandbox: SandboxClient


@contextmanager
def bench_redis(work: Path) -> Iterator[str]:
    """The machine's Redis when OUTREACH_TEST_REDIS_URL names it, else an embedded one."""
    url = os.environ.get("OUTREACH_TEST_REDIS_URL")
    if url:
        yield url
        return
    embedded = EmbeddedRedis(work / "redis").start()
    try:
        yield embedded.url
    finally:
        embedded.stop()


@contextmanager
def bench_services() -> Iterator[Services]:
    with tempfile.TemporaryDirectory() as tmp, bench_redis(Path(tmp)) as redis_url:
        work = Path(tmp)
        database_url = os.environ.get("OUTREACH_TEST_DATABASE_URL") or f"sqlite:///{work}/b.db"
        migrate(database_url)
        port = free_port()
        command = [OUTREACH, "sandbox", "--port", str(port)]
        server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        sandbox_url = f"http://127.0.0.1:{port}"
        sandbox = SandboxClient(sandbox_url)
        while not sandbox.healthy():
            time.sleep(0.1)
        print(
            f"redis: {redis_url}; database: {database_url.split(':')[0]}; {os.cpu_count()} cores\n"
        )
        try:
            yield Services(work, redis_url, database_url, sandbox_url, sandbox)
        finally:
            server.terminate()
            server.wait()
