from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster import Cluster
from worker.dev.sandbox.server import Sandbox
from worker.runtime import Runtime

ACCOUNTS = {"ann": "linkup", "dan": "connectsafely", "eve": "outx"}


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    """A runtime on the emptied test Redis and database, with three accounts."""
    return make_runtime(ACCOUNTS, sending_timeout_seconds=30)


MakeCluster = Callable[..., Cluster]


@pytest.fixture
def make_cluster(
    tmp_path: Path, redis_url: str, database_url: str, sandbox_server: Sandbox
) -> Iterator[MakeCluster]:
    """Build a deployment of real processes on the test's Redis, database and the sandbox;
    every one built is stopped at the end."""
    clusters: list[Cluster] = []

    def build(accounts: dict[str, str], **settings: object) -> Cluster:
        cluster = Cluster(
            tmp_path,
            redis_url=redis_url,
            database_url=database_url,
            sandbox_url=sandbox_server.url,
            accounts=accounts,
            **settings,
        )
        clusters.append(cluster)
        return cluster

    yield build
    for cluster in clusters:
        cluster.stop()
