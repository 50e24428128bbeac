"""A whole outreach deployment for one test: worker and scheduler processes started through
the real CLI, pointed at the test's Redis, database and the provider sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.fakes import account_secrets, accounts_toml
from worker.models import TERMINAL, Delivery
from worker.redis_connect import redis_client
from worker.runtime import Runtime
from worker.settings import Settings

OUTREACH = str(Path(sys.executable).parent / "outreach")


class Cluster:
    def __init__(
        self,
        tmp_path: Path,
        *,
        redis_url: str,
        database_url: str,
        sandbox_url: str,
        accounts: dict[str, str],
        **settings: Any,
    ):
        tmp_path.mkdir(parents=True, exist_ok=True)
        accounts_file = tmp_path / "accounts.toml"
        accounts_file.write_text(accounts_toml(accounts), encoding="utf-8")
        self.secrets = account_secrets(accounts)
        values = {
            "redis_url": redis_url,
            "database_url": database_url,
            "accounts_file": str(accounts_file),
            "data_dir": str(tmp_path / "data"),
            "linkup_base_url": sandbox_url,
            "connectsafely_base_url": sandbox_url,
            "outx_base_url": sandbox_url,
            "pace_min_seconds": 0.2,
            "pace_max_seconds": 0.4,
            "outx_poll_seconds": 0.1,
            "outx_poll_max_seconds": 0.3,
            "retry_base_seconds": 0.2,
            "rate_limit_pause_seconds": 1.0,
            "http_read_timeout_seconds": 5.0,
            "sending_timeout_seconds": 8.0,
            **settings,
        }
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
        self.env.update(self.secrets)
        self.env.update({f"OUTREACH_{k.upper()}": str(v) for k, v in values.items()})
        self.env["OUTREACH_LOG_FORMAT"] = "json"
        os.environ.update(self.secrets)  # the test process loads the same accounts file
        self.settings = Settings(**values)
        self.runtime = Runtime(self.settings)
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._reset_state()

    def _reset_state(self) -> None:
        client = redis_client(self.runtime.redis_url)
        client.flushdb()
        client.close()
        self.runtime.store.drop_schema()
        self.runtime.store.create_schema()

    def start(self, name: str, *args: str) -> None:
        """Start `outreach <args>` as process `name`, in its own process group."""
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [OUTREACH, *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_workers(self, count: int, concurrency: int = 2, prefix: str = "worker") -> None:
        for i in range(count):
            self.start(f"{prefix}{i}", "worker", "--concurrency", str(concurrency))

    def start_schedulers(self, count: int) -> None:
        for i in range(count):
            self.start(f"scheduler{i}", "scheduler")

    def kill(self, name: str) -> None:
        """SIGKILL a process and its children, as a machine dying would."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def terminate(self, name: str, timeout_s: float = 30) -> int:
        """SIGTERM the process alone, as `docker stop` and Kubernetes do; its exit code."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=timeout_s)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OUTREACH, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )

    def deliveries(self) -> list[Delivery]:
        return self.runtime.store.find()

    def wait_until_settled(self, count: int, timeout_s: float = 60) -> list[Delivery]:
        """Wait until `count` deliveries exist and all are terminal; fail with the stragglers."""
        deadline = time.monotonic() + timeout_s
        rows: list[Delivery] = []
        while time.monotonic() < deadline:
            rows = self.deliveries()
            if len(rows) >= count and all(r.status in TERMINAL for r in rows):
                return rows
            self._check_alive()
            time.sleep(0.1)
        pending = [
            (r.id, r.account, r.status.value, r.error) for r in rows if r.status not in TERMINAL
        ]
        raise AssertionError(f"not settled after {timeout_s}s: {pending[:10]}\n{self.tail_logs()}")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}\n{self.tail_logs()}")

    def tail_logs(self, lines: int = 15) -> str:
        out = []
        for path in sorted(self.logs.iterdir()):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in list(self.processes.items()):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            self.processes.pop(name)
        self.runtime.redis.close()
        self.runtime.store.engine.dispose()


def gaps_by_sender(requests: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Seconds between consecutive send requests of each sender, as the sandbox saw them."""
    times: dict[str, list[float]] = defaultdict(list)
    for request in requests:
        times[request["sender"]].append(request["at"])
    return {
        sender: [b - a for a, b in zip(sorted(t), sorted(t)[1:], strict=False)]
        for sender, t in times.items()
    }
