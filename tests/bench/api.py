"""Enqueueing through the HTTP API beside the other ways in, in one run (`make bench`):

- `enqueue_message` in this process, one call at a time (the floor: no HTTP at all);
- `outreach send`, one command per message (a process start each);
- `POST /v1/messages` to `outreach api` running as its own process: one request at a time,
  then 64 at once (the API groups concurrent requests into one insert);
- `GET /healthz` with the same client and concurrency: what the server manages with no
  database or Redis work. The client is wrk (Debian's `wrk`), so it is not the limit.

Uses OUTREACH_TEST_REDIS_URL / OUTREACH_TEST_DATABASE_URL when set, embedded otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from scheduler.api.api_keys import ApiKeys
from scheduler.producer import enqueue_message
from tests.bench.services import Services, bench_services
from tests.cluster import Cluster
from tests.ports import free_port
from worker.logs import configure_logging

ACCOUNTS = {f"a{i:02d}": "linkup" for i in range(50)}
CONCURRENCY = 64
SECONDS = 10  # each HTTP figure: wrk for this long


def _message(tag: str, i: int) -> dict[str, str]:
    return {
        "account": f"a{i % 50:02d}",
        "to": f"https://www.linkedin.com/in/{tag}-lead-{i}",
        "text": f"Hi number {i}",
    }


def _start_api(cluster: Cluster) -> str:
    port = free_port()
    cluster.start("api", "api", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API did not start:\n{cluster.tail_logs()}")


WRK_POST = """
local counter = 0
local tag = "t"
function setup(thread)
  thread:set("tag", "w" .. tostring(math.random(1, 1e9)))
end
function init(args)
  tag = tag .. (args[1] or "")
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"account": "a%02d", "to": "https://www.linkedin.com/in/%s-%d", "text": "Hi %d"}',
    counter % 50, tag, counter, counter)
  return wrk.format("POST", "/v1/messages", nil, body)
end
"""


def _wrk(
    url: str, key: str, path: str, connections: int, seconds: int, script: Path | None
) -> float:
    """Requests per second from wrk (a C load generator: the client is not the limit)."""
    command = [
        "wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
        "-H", f"Authorization: Bearer {key}", "-H", "Content-Type: application/json",
    ]  # fmt: skip
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url + path], capture_output=True, text=True, check=True
    ).stdout
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    assert refused is None, output
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found is not None, output
    return float(found[1])


def bench_api(setup: Services) -> None:
    if shutil.which("wrk") is None:
        print("api: skipped, needs wrk (Debian package `wrk`) as its load generator")
        return
    cluster = Cluster(
        setup.work / "api",
        redis_url=setup.redis_url,
        database_url=setup.database_url,
        sandbox_url=setup.sandbox_url,
        accounts=ACCOUNTS,
        log_level="WARNING",
    )
    runtime = cluster.runtime
    key = ApiKeys(runtime.engine, runtime.redis).create("bench").key
    url = _start_api(cluster)
    print(f"enqueue one message at a time, {len(ACCOUNTS)} accounts")
    try:
        started = time.perf_counter()
        for i in range(1000):
            enqueue_message(runtime, **_message("python", i))
        python_rate = 1000 / (time.perf_counter() - started)
        print(f"  enqueue_message (in process):              {python_rate:8.0f}/s")

        started = time.perf_counter()
        for i in range(5):
            message = _message("cli", i)
            sent = cluster.run(
                "send", "--account", message["account"], "--to", message["to"],
                "--text", message["text"],
            )  # fmt: skip
            assert sent.returncode == 0, sent.stderr
        cli_rate = 5 / (time.perf_counter() - started)
        print(f"  outreach send (a process per message):     {cli_rate:8.2f}/s")

        script = setup.work / "post.lua"
        script.write_text(WRK_POST, encoding="utf-8")
        one = _wrk(url, key, "/v1/messages", 1, SECONDS, script)
        print(f"  POST /v1/messages, 1 in flight:            {one:8.0f}/s")
        many = _wrk(url, key, "/v1/messages", CONCURRENCY, SECONDS, script)
        print(f"  POST /v1/messages, {CONCURRENCY} in flight:           {many:8.0f}/s")
        health = _wrk(url, key, "/healthz", CONCURRENCY, SECONDS, None)
        print(f"  GET /healthz, {CONCURRENCY} in flight (no work):      {health:8.0f}/s")
        print(
            f"  ratios: POST (64) / enqueue_message {many / python_rate:.2f};"
            f" POST (1) / enqueue_message {one / python_rate:.2f};"
            f" POST (64) / outreach send {many / cli_rate:.0f}x"
        )
    finally:
        cluster.stop()


def main() -> None:
    configure_logging("console", "WARNING")
    with bench_services() as setup:
        bench_api(setup)


if __name__ == "__main__":
    main()
