"""A free loopback port, for a server a test starts (a sandbox, a metrics endpoint, a
database). The port is free when asked; a server that loses the race fails loudly."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
