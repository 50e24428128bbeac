"""Running `outreach` as a user does, for the tests that drive the command line: a real
process, a clean environment with the test secrets, and emptied Redis and database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis

from tests.fakes import SECRETS
from worker.database import create_engine
from worker.store import DeliveryStore

OUTREACH = str(Path(sys.executable).parent / "outreach")
ACCOUNTS_FILE = """
[accounts.alice]
provider = "linkup"
api_key = "env:TEST_LINKUP_KEY"
login_token = "env:TEST_ALICE_TOKEN"
[accounts.carol]
provider = "outx"
api_key = "env:TEST_OUTX_KEY"
"""


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    return {**env, **SECRETS, "OUTREACH_DATA_DIR": str(tmp_path / "data"), **extra}


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OUTREACH, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def pipeline_env(
    tmp_path: Path,
    redis_url: str,
    database_url: str,
    accounts: str = ACCOUNTS_FILE,
    **extra: str,
) -> dict[str, str]:
    """The environment for commands that use Redis and the database, both emptied first."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    store = DeliveryStore(create_engine(database_url))
    store.drop_schema()
    store.create_schema()
    store.engine.dispose()
    accounts_file = tmp_path / "accounts.toml"
    accounts_file.write_text(accounts, encoding="utf-8")
    return cli_env(
        tmp_path,
        OUTREACH_ACCOUNTS_FILE=str(accounts_file),
        OUTREACH_REDIS_URL=redis_url,
        OUTREACH_DATABASE_URL=database_url,
        **extra,
    )
