"""A demo stack for the live page's browser test: scheduler and worker processes against the
provider sandbox, `outreach api` as a process of its own, and one campaign sent through it,
with one send lost (`unknown`) and one recipient who answered."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.api.server import free_port
from tests.cluster import Cluster
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.models import Delivery, Status

ACCOUNTS = {"ann": "linkup", "dan": "connectsafely", "eve": "outx"}
CAMPAIGN = "q4-founders"
LEADS = 9
# The answer is injected once the test sees dan's first send: on a loaded machine (CI runs two
# test workers) that can take seconds, and it must land before the follow-up's reply check.
FOLLOW_UP_S = 6
ANSWER = "Yes, let's talk next week <script>alert('pwned')</script>"


@dataclass
class PageStack:
    cluster: Cluster
    url: str  # where `outreach api` listens
    key: str  # a read-only key, made by `outreach api-keys create`

    def status(self) -> dict[str, Any]:
        """`outreach campaign status --json`, run as a command now."""
        done = self.cluster.run("campaign", "status", CAMPAIGN, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def outreach(self, *args: str) -> str:
        done = self.cluster.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def deliveries(self) -> list[Delivery]:
        return self.cluster.deliveries()


def _write_campaign(folder: Path) -> tuple[Path, Path]:
    spec = folder / f"{CAMPAIGN}.toml"
    spec.write_text(
        f'name = "{CAMPAIGN}"\naccounts = ["ann", "dan", "eve"]\ndaily_limit = 40\n'
        '[[steps]]\ntext = "[[Hi|Hello]] {first_name}, I saw your work at {company}."\n'
        f'[[steps]]\nafter = "{FOLLOW_UP_S}s"\ntext = "Following up, {{first_name}}."\n',
        encoding="utf-8",
    )
    leads = folder / f"{CAMPAIGN}.csv"
    leads.write_text(
        "linkedin_url,first_name,company\n"
        + "".join(f"https://www.linkedin.com/in/founder-{i},Pat{i},Co{i}\n" for i in range(LEADS)),
        encoding="utf-8",
    )
    return spec, leads


def _wait(what: str, ready: Any, cluster: Cluster, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"{what}: not after {timeout_s}s\n{cluster.tail_logs()}"
        time.sleep(0.1)


def _api_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _answer_dans_first(cluster: Cluster, sandbox: SandboxClient) -> bool:
    """Once dan's first message is out, its recipient answers (before the follow-up)."""
    for row in cluster.deliveries():
        if row.account == "dan" and row.step == 0 and row.status == Status.SENT:
            sandbox.reply(sender_of(cluster.runtime.accounts["dan"]), row.recipient, ANSWER)
            return True
    return False


@contextmanager
def page_stack(
    tmp_path: Path, *, redis_url: str, database_url: str, sandbox: SandboxClient, sandbox_url: str
) -> Iterator[PageStack]:
    """Everything running, the campaign settled: every delivery in a final status and the
    answer recorded."""
    cluster = Cluster(
        tmp_path / "stack",
        redis_url=redis_url,
        database_url=database_url,
        sandbox_url=sandbox_url,
        accounts=ACCOUNTS,
        read_min_seconds=0.2,
        inbox_poll_seconds=1.0,
    )
    try:
        sandbox.add_fault("drop", provider="linkup")  # ann's first send: it may have gone
        spec, leads = _write_campaign(tmp_path)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cluster.start("api", "api", "--port", str(port))
        cluster.start_workers(2)
        cluster.start_schedulers(1)
        stack = PageStack(cluster, url, "")
        stack.outreach("campaign", "start", str(spec), str(leads))
        stack.key = stack.outreach("api-keys", "create", "browser", "--read-only").strip()
        _wait("the API", lambda: _api_up(url), cluster)
        _wait("dan's first send", lambda: _answer_dans_first(cluster, sandbox), cluster)
        cluster.wait_until_settled(2 * LEADS, timeout_s=90)
        _wait("the answer", cluster.runtime.recipients.replies, cluster)
        yield stack
    finally:
        cluster.stop()
