"""`outreach webhooks …` as a user runs it: real processes, a real receiver on loopback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from tests.cli_run import pipeline_env, run_cli
from tests.webhook_receiver import TEST_SECRET, Receiver
from worker import keys
from worker.database import create_engine
from worker.webhooks.events import EventType, new_event
from worker.webhooks.store import DEAD, OutboxRow, WebhookStore


@pytest.fixture
def env(tmp_path: Path, redis_url: str, database_url: str) -> dict[str, str]:
    return pipeline_env(tmp_path, redis_url, database_url, OUTREACH_WEBHOOK_SECRET=TEST_SECRET)


def _ok(args: list[str], env: dict[str, str]) -> str:
    result = run_cli(args, env)
    assert result.returncode == 0, result.stderr
    assert TEST_SECRET not in result.stdout + result.stderr
    return result.stdout


def test_add_stores_the_variable_name_and_list_shows_it(env: dict[str, str]) -> None:
    out = _ok(["webhooks", "add", "https://hooks.example.com/in", "--events", "sent,replied"], env)
    assert out.startswith("webhook endpoint 1: https://hooks.example.com/in hears sent,replied")
    assert "OUTREACH_WEBHOOK_SECRET" in out

    [line] = _ok(["webhooks", "list", "--json"], env).splitlines()
    assert json.loads(line) | {"created_at": None} == {
        "id": 1,
        "url": "https://hooks.example.com/in",
        "events": ["sent", "replied"],
        "secret_env": "OUTREACH_WEBHOOK_SECRET",
        "pending": 0,
        "dead": 0,
        "created_at": None,
    }


def test_add_warns_when_its_secret_variable_is_unset(env: dict[str, str]) -> None:
    args = ["webhooks", "add", "https://hooks.example.com/in", "--secret-env", "HOOK_SECRET_B"]
    result = run_cli(args, env)
    assert result.returncode == 0, result.stderr
    assert "warning: the webhook secret variable HOOK_SECRET_B is not set" in result.stderr


def test_add_refuses_an_unknown_event_naming_the_choices(env: dict[str, str]) -> None:
    result = run_cli(["webhooks", "add", "https://h.example.com", "--events", "sent,opened"], env)
    assert result.returncode == 2
    assert "unknown event 'opened'" in result.stderr
    assert "sent, failed, unknown, replied, account_paused" in result.stderr


def test_secret_prints_a_fresh_whsec_secret(env: dict[str, str]) -> None:
    first = _ok(["webhooks", "secret"], env).strip()
    second = _ok(["webhooks", "secret"], env).strip()
    assert first.startswith("whsec_") and first != second


def test_test_sends_a_signed_event_and_prints_the_status(env: dict[str, str]) -> None:
    with Receiver() as receiver:
        _ok(["webhooks", "add", receiver.url], env)
        out = _ok(["webhooks", "test", "1"], env)

    assert out.strip() == "HTTP 204: the endpoint took the test event"
    assert receiver.bad_signatures == 0
    [body] = receiver.bodies.values()
    assert body["type"] == "webhook.test" and body["data"]["endpoint_id"] == 1


def test_test_reports_a_refusal_and_exits_1(env: dict[str, str]) -> None:
    with Receiver(refuse_first=1) as receiver:
        _ok(["webhooks", "add", receiver.url], env)
        result = run_cli(["webhooks", "test", "1"], env)
    assert result.returncode == 1
    assert "refused the test event: HTTP 500" in result.stderr


def _dead_events(env: dict[str, str], count: int) -> list[int]:
    store = WebhookStore(create_engine(env["OUTREACH_DATABASE_URL"]))
    now = datetime.now(UTC)
    rows = [
        OutboxRow(1, e.message_id, e.type, e.payload, now)
        for e in (new_event(EventType.FAILED, {"id": i}, now) for i in range(count))
    ]
    ids = store.write(rows)
    for event_id in ids:
        store.failed(event_id, 500, "HTTP 500: down", now, None)
    store.engine.dispose()
    return ids


def test_failures_lists_dead_events_and_retry_brings_them_back(env: dict[str, str]) -> None:
    _ok(["webhooks", "add", "https://hooks.example.com/in"], env)
    first, second = _dead_events(env, 2)

    lines = [json.loads(line) for line in _ok(["webhooks", "failures", "--json"], env).splitlines()]
    assert [(f["id"], f["type"], f["attempts"], f["last_error"]) for f in lines] == [
        (first, "delivery.failed", 1, "HTTP 500: down"),
        (second, "delivery.failed", 1, "HTTP 500: down"),
    ]
    table = _ok(["webhooks", "failures"], {**env, "COLUMNS": "200"})
    assert "1 https://hooks.example.com/in" in table and "HTTP 500: down" in table

    assert _ok(["webhooks", "retry", str(first)], env).strip() == "1 events pending again"
    assert _ok(["webhooks", "retry", "--all"], env).strip() == "1 events pending again"
    assert _ok(["webhooks", "failures", "--json"], env) == ""
    client = redis.Redis.from_url(env["OUTREACH_REDIS_URL"])
    assert client.zcard(keys.WEBHOOKS) == 2
    client.close()
    [line] = _ok(["webhooks", "list", "--json"], env).splitlines()
    assert (json.loads(line)["pending"], json.loads(line)["dead"]) == (2, 0)


def test_retry_of_an_event_that_is_not_dead_says_so(env: dict[str, str]) -> None:
    result = run_cli(["webhooks", "retry", "42"], env)
    assert result.returncode == 2
    assert "not dead, so not retried: 42" in result.stderr


def test_remove_drops_the_endpoint_and_its_undelivered_events(env: dict[str, str]) -> None:
    _ok(["webhooks", "add", "https://hooks.example.com/in"], env)
    _dead_events(env, 2)

    out = _ok(["webhooks", "remove", "1"], env)

    assert out.strip() == "webhook endpoint 1 removed; 2 undelivered events dropped"
    assert _ok(["webhooks", "list", "--json"], env) == ""
    result = run_cli(["webhooks", "remove", "1"], env)
    assert result.returncode == 2 and "no webhook endpoint 1" in result.stderr
    store = WebhookStore(create_engine(env["OUTREACH_DATABASE_URL"]))
    assert [e for e in store.all_events() if e.state == DEAD] == []
    store.engine.dispose()
