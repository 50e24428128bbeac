"""`outreach api-keys …` and `outreach api` as a user runs them: real processes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.api.server import free_port
from tests.cli_run import OUTREACH, pipeline_env, run_cli
from tests.fakes import SECRETS

JANE = "https://www.linkedin.com/in/jane-doe"


def test_keys_are_shown_once_listed_without_themselves_and_revoked(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = pipeline_env(tmp_path, redis_url, database_url)

    made = run_cli(["api-keys", "create", "crm"], env)
    reader = run_cli(["api-keys", "create", "dashboard", "--read-only"], env)
    again = run_cli(["api-keys", "create", "crm"], env)
    listed = run_cli(["api-keys", "list"], env)
    revoked = run_cli(["api-keys", "revoke", "crm"], env)
    unknown = run_cli(["api-keys", "revoke", "nobody"], env)
    after = run_cli(["api-keys", "list", "--json"], env)

    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("oak_") and len(key) > 40
    assert "shown only this once" in made.stderr
    assert again.returncode == 2 and "exists" in again.stderr
    assert key not in listed.stdout and key[:12] in listed.stdout
    assert reader.stdout.strip() not in listed.stdout
    assert "read-only" in listed.stdout and "dashboard" in listed.stdout
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert unknown.returncode == 2 and "crm, dashboard" in unknown.stderr
    keys = {line["name"]: line for line in map(json.loads, after.stdout.splitlines())}
    assert keys["crm"]["revoked_at"] is not None and keys["dashboard"]["revoked_at"] is None
    assert keys["dashboard"]["read_only"] is True and "key_hash" not in keys["crm"]


def test_the_api_serves_a_key_made_on_the_command_line(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = pipeline_env(tmp_path, redis_url, database_url, OUTREACH_LOG_FORMAT="json")
    key = run_cli(["api-keys", "create", "crm"], env).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [OUTREACH, "api", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "no API"
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {key}"}
        sent = httpx.post(
            f"{url}/v1/messages",
            json={"account": "alice", "to": JANE, "text": "Hi"},
            headers=headers,
        )
        refused = httpx.post(
            f"{url}/v1/messages",
            json={"account": "alice", "to": JANE, "text": "Hi"},
            headers={"Authorization": "Bearer oak_wrong"},
        )
        listed = run_cli(["deliveries", "--json"], env)
        run_cli(["api-keys", "revoke", "crm"], env)
        after_revoke = httpx.get(f"{url}/v1/deliveries", headers=headers)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)

    assert sent.status_code == 201, sent.text
    assert refused.status_code == 401
    assert after_revoke.status_code == 401  # at once: the running API heard of it
    assert f'"id": {sent.json()["id"]}' in listed.stdout
    # uvicorn finishes its requests, then re-raises the SIGTERM it caught.
    assert "Application shutdown complete" in output and server.returncode in (0, -15), output
    assert key not in output
    for secret in SECRETS.values():
        assert secret not in output
