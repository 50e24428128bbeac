"""Where a send's time goes: the worker's own code path (`SendService.send`, what a Celery child
runs for each task), profiled in one process against the do-nothing stub, with the release
done beforehand. Prints the functions with the most cumulative time. `make profile`."""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from scheduler.producer import enqueue_message
from tests.bench.stub import StubServer
from tests.databases import migrate
from tests.fakes import account_secrets, accounts_toml
from worker.logs import configure_logging
from worker.runtime import Runtime
from worker.sending import SendService
from worker.settings import Settings

SENDS = 500


def main() -> None:
    configure_logging("console", "WARNING")
    redis_url = os.environ.get("OUTREACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    with tempfile.TemporaryDirectory() as tmp, StubServer() as stub:
        database_url = os.environ.get("OUTREACH_TEST_DATABASE_URL") or f"sqlite:///{tmp}/p.db"
        migrate(database_url)
        names = {f"p{i:04d}": "linkup" for i in range(SENDS)}
        accounts = Path(tmp) / "accounts.toml"
        accounts.write_text(accounts_toml(names), encoding="utf-8")
        os.environ.update(account_secrets(names))
        settings = Settings(
            redis_url=redis_url, database_url=database_url, accounts_file=accounts,
            linkup_base_url=stub.url, pace_min_seconds=0, pace_max_seconds=0,
        )  # fmt: skip
        runtime = Runtime(settings)
        runtime.redis.flushdb()
        runtime.store.drop_schema()
        runtime.store.create_schema()
        for name in names:
            enqueue_message(
                runtime, account=name, to=f"https://www.linkedin.com/in/{name}-x", text="Hi"
            )
        released = runtime.due_index.release(time.time() + 1, limit=SENDS)
        service = SendService(runtime)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for release in released:
            service.send(release.delivery_id)
        profile.disable()
        elapsed = time.perf_counter() - started
        print(
            f"{len(released)} sends in one process: {elapsed / len(released) * 1000:.2f} ms each"
            f" ({database_url.split(':')[0]}); the stub answered {stub.count}"
        )
        stats = pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative")
        stats.print_stats(int(os.environ.get("PROFILE_TOP", "35")))


if __name__ == "__main__":
    main()
