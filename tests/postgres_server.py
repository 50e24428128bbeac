"""A PostgreSQL server of a test's own (`initdb`, `pg_ctl`), which the test may stop and start
as a failover or a restart would. As root it runs as the `postgres` user (PostgreSQL refuses
root); its directory is one of its own under the system's temp dir, since the `postgres`
user cannot enter pytest's (private to root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.ports import free_port

IN_CI = os.environ.get("CI") == "true"


def _bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


class PostgresServer:
    def __init__(self) -> None:
        initdb, self.pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if initdb is None or self.pg_ctl is None:
            if IN_CI:
                raise RuntimeError("initdb and pg_ctl are needed (Debian: postgresql)")
            pytest.skip("initdb/pg_ctl not installed")
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._top = Path(tempfile.mkdtemp(prefix="outreach-pg-"))
        self._top.chmod(0o755)
        self.directory = self._top / "pg"
        self.directory.mkdir()
        if self.as_owner:
            shutil.chown(self.directory, "postgres")
        self.data = self.directory / "data"
        self.port = free_port()
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        log = self.directory / "server.log"
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}")

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash: no shutdown checkpoint, every connection cut."""
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop it if it runs, and delete its files."""
        assert self.pg_ctl is not None
        subprocess.run(
            [*self.as_owner, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self._top, ignore_errors=True)
