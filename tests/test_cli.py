"""The `outreach` command as a user runs it: real processes, real output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from scheduler.dev.demo import DEMO_SECRETS
from tests.cli_run import ACCOUNTS_FILE, OUTREACH
from tests.cli_run import cli_env as _env
from tests.cli_run import pipeline_env as _pipeline_env
from tests.cli_run import run_cli as _run
from tests.databases import empty_database
from tests.fakes import SECRETS
from worker import schema


def test_accounts_lists_the_file_without_showing_credentials(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    result = _run(["accounts", "--json"], _pipeline_env(tmp_path, redis_url, database_url))

    assert result.returncode == 0, result.stderr
    assert '"account": "alice"' in result.stdout
    assert '"provider": "outx"' in result.stdout
    for secret in SECRETS.values():
        assert secret not in result.stdout + result.stderr


def test_a_broken_accounts_file_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    accounts_file = tmp_path / "accounts.toml"
    accounts_file.write_text(ACCOUNTS_FILE, encoding="utf-8")
    env = _env(tmp_path, OUTREACH_ACCOUNTS_FILE=str(accounts_file))
    del env["TEST_OUTX_KEY"]

    result = _run(["accounts"], env)

    assert result.returncode == 2
    assert "account 'carol'" in result.stderr
    assert "TEST_OUTX_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_worker_refuses_two_entries_that_are_one_linkedin_sender(tmp_path: Path) -> None:
    accounts_file = tmp_path / "accounts.toml"
    twin = '[accounts.carol2]\nprovider = "outx"\napi_key = "env:TEST_OUTX_KEY"\n'
    accounts_file.write_text(ACCOUNTS_FILE + twin, encoding="utf-8")
    env = _env(tmp_path, OUTREACH_ACCOUNTS_FILE=str(accounts_file))

    result = _run(["worker"], env)

    assert result.returncode == 2
    assert "accounts 'carol' and 'carol2' are one LinkedIn sender" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(secret in result.stderr for secret in SECRETS.values())


def test_a_worker_without_a_redis_url_asks_for_one_or_for_embedded(tmp_path: Path) -> None:
    accounts_file = tmp_path / "accounts.toml"
    accounts_file.write_text(ACCOUNTS_FILE, encoding="utf-8")
    env = _env(tmp_path, OUTREACH_ACCOUNTS_FILE=str(accounts_file))

    result = _run(["worker"], env)

    assert result.returncode == 2
    assert "OUTREACH_REDIS_URL is not set" in result.stderr and "--embedded" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_names_the_variable(tmp_path: Path) -> None:
    result = _run(["accounts"], _env(tmp_path, OUTREACH_PACE_MIN_SECONDS="99"))
    assert result.returncode == 2
    assert "OUTREACH_PACE_MAX_SECONDS" in result.stderr


def test_the_sandbox_command_serves_until_interrupted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [OUTREACH, "sandbox", "--port", "0"], env=_env(tmp_path), stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if "listening on" in line:
                url = line.split("listening on", 1)[1].split()[0]
        assert url is not None, "the sandbox never said where it listens"
        assert httpx.get(f"{url}/_sandbox/health", timeout=5).json() == {"ok": True}
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.slow
def test_the_demo_runs_the_sample_campaign_and_checks_its_outcome(tmp_path: Path) -> None:
    result = _run(["demo"], _env(tmp_path), timeout=180)

    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    summary = json.loads((tmp_path / "data" / "demo" / "summary.json").read_text())
    assert summary == {
        "counts": {"cancelled": 2, "failed": 1, "sent": 15},
        "expected": {"cancelled": 2, "failed": 1, "sent": 15},
        "replies": 1,
        "expected_replies": 1,
        "ok": True,
    }
    assert "Time is scaled down" in out
    assert "line 6, column first_name: empty, but a template uses it" in out
    assert "paused for a LinkedIn rate limit" in out
    assert "Recipient is not a 1st-degree connection" in out
    assert "step 1 ended failed" in out
    assert "replied after step 1:" in out and "the follow-up was stopped" in out
    assert "saw 0 pacing violations" in out
    assert "deliveries" in out and "demo check passed" in out
    assert not any(secret in out for secret in DEMO_SECRETS.values())
    assert _demo_processes(tmp_path) == []


@pytest.mark.slow
def test_interrupting_the_demo_stops_everything_it_started(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [OUTREACH, "demo", "--no-live"], env=_env(tmp_path), stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "settled:" in line:  # the scheduler and workers are up and sending
            break
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[0]

    assert process.returncode == 130
    assert "interrupted: stopping" in rest
    assert _demo_processes(tmp_path) == []


def _demo_processes(tmp_path: Path) -> list[int]:
    """Processes still running with this test's data directory in their environment."""
    marker = str(tmp_path).encode()
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes():
                alive.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return alive


DELIVERY_FIELDS = {
    "id",
    "campaign",
    "step",
    "account",
    "provider",
    "recipient",
    "status",
    "attempts",
    "error",
    "message_urn",
    "conversation_id",
    "task_id",
    "thread_id",
    "created_at",
    "sent_at",
}


def test_send_records_a_delivery_that_deliveries_lists(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = _pipeline_env(tmp_path, redis_url, database_url)
    sent = _run(
        [
            "send",
            "--account",
            "alice",
            "--to",
            "https://www.linkedin.com/in/jane-doe",
            "--text",
            "Hi Jane",
            "--json",
        ],
        env,
    )
    assert sent.returncode == 0, sent.stderr
    delivery_id = json.loads(sent.stdout)["id"]

    listed = _run(["deliveries", "--json", "--account", "alice"], env)

    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert set(row) >= DELIVERY_FIELDS
    assert (row["id"], row["status"], row["provider"]) == (delivery_id, "queued", "linkup")
    shown = _run(["deliveries", "show", str(delivery_id)], env)
    assert (
        shown.returncode == 0
        and '"recipient": "https://www.linkedin.com/in/jane-doe"' in shown.stdout
    )


def test_send_refuses_bad_input_with_every_problem(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = _pipeline_env(tmp_path, redis_url, database_url)
    result = _run(
        ["send", "--account", "carol", "--to", "urn:li:member:123456789", "--text", " "],
        env,
    )
    assert result.returncode == 2
    assert "text: must not be empty" in result.stderr
    assert "recipient: OutX needs a LinkedIn person URN" in result.stderr


def test_retrying_a_queued_delivery_is_refused(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = _pipeline_env(tmp_path, redis_url, database_url)
    sent = _run(["send", "--account", "alice", "--to", "jane-doe", "--text", "Hi"], env)
    result = _run(["deliveries", "retry", sent.stdout.strip()], env)
    assert result.returncode == 2
    assert "only unknown or failed deliveries can be retried" in result.stderr


def test_accounts_shows_queues_per_account(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = _pipeline_env(tmp_path, redis_url, database_url)
    _run(["send", "--account", "alice", "--to", "jane-doe", "--text", "Hi"], env)
    result = _run(["accounts", "--json"], env)
    rows = {r["account"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert (rows["alice"]["queued"], rows["carol"]["queued"]) == (1, 0)
    assert rows["alice"]["paused_until"] is None


CAMPAIGN_FILE = """
name = "spring"
accounts = ["alice", "carol"]
[[steps]]
text = "Hi {first_name}!"
[[steps]]
after = "3d"
text = "Following up, {first_name}."
"""


def _campaign_files(tmp_path: Path, rows: str) -> tuple[str, str]:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(CAMPAIGN_FILE, encoding="utf-8")
    leads = tmp_path / "leads.csv"
    leads.write_text("linkedin_url,first_name\n" + rows, encoding="utf-8")
    return str(campaign), str(leads)


def test_campaign_start_reports_every_mistake_and_writes_nothing(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = _pipeline_env(tmp_path, redis_url, database_url)
    rows = (
        "https://www.linkedin.com/in/ok,Ok\nhttps://www.linkedin.com/in/no,\nnot a url,X\n"
        "none,Nobody\nhttps://www.linkedin.com/in/OK/,Again\n"
    )
    result = _run(["campaign", "start", *_campaign_files(tmp_path, rows)], env)

    assert result.returncode == 2
    assert "leads.csv: line 3, column first_name: empty, but a template uses it" in result.stderr
    assert "leads.csv: line 4, column linkedin_url:" in result.stderr
    assert (
        "leads.csv: line 5, column linkedin_url: 'none' is not a LinkedIn profile URL"
        in result.stderr
    )
    assert "leads.csv: line 6, column linkedin_url: the same recipient as line 2" in result.stderr
    assert _run(["campaigns", "--json"], env).stdout == ""


def test_campaign_start_dry_run_then_start_then_status(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = _pipeline_env(tmp_path, redis_url, database_url)
    rows = "https://www.linkedin.com/in/ann,Ann\nhttps://www.linkedin.com/in/bo,Bo\n"
    files = _campaign_files(tmp_path, rows)

    dry = _run(["campaign", "start", *files, "--dry-run", "--json"], env)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    # carol is OutX: she reaches profile URLs too (resolved before sending), so each takes one.
    assert (plan["sends"], plan["per_account"], plan["dry_run"]) == (
        4,
        {"alice": 1, "carol": 1},
        True,
    )
    assert plan["finish_estimate"] is not None
    assert plan["samples"] == {
        "alice": {"to": "https://www.linkedin.com/in/ann", "text": "Hi Ann!"},
        "carol": {"to": "https://www.linkedin.com/in/bo", "text": "Hi Bo!"},
    }

    started = _run(["campaign", "start", *files], env)
    assert started.returncode == 0, started.stderr
    assert "queued 4 sends" in started.stdout
    status = json.loads(_run(["campaign", "status", "spring", "--json"], env).stdout)
    assert status["steps"] == {"1": {"queued": 2}, "2": {"waiting": 2}}

    replied = _run(["recipients", "mark-replied", "https://www.linkedin.com/in/bo"], env)
    assert "2 pending sends cancelled" in replied.stdout
    assert _run(["campaign", "pause", "spring"], env).returncode == 0
    listed = json.loads(_run(["campaigns", "--json"], env).stdout)
    assert (listed["status"], listed["pending"]) == ("paused", 2)
    again = _run(["campaign", "start", *files], env)
    assert again.returncode == 2 and "exists" in again.stderr


def test_replies_import_records_all_or_nothing_and_stops_the_follow_ups(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    env = _pipeline_env(tmp_path, redis_url, database_url)
    rows = "https://www.linkedin.com/in/ann,Ann\nhttps://www.linkedin.com/in/bo,Bo\n"
    assert _run(["campaign", "start", *_campaign_files(tmp_path, rows)], env).returncode == 0
    replies = tmp_path / "replies.csv"
    replies.write_text(
        "recipient,received_at,text\n"
        "https://www.linkedin.com/in/bo,2026-11-20T14:05:00Z,Sure\n"
        "not a url,2026-11-20T14:05:00Z,\n"
        "https://www.linkedin.com/in/ann,yesterday,\n",
        encoding="utf-8",
    )

    refused = _run(["replies", "import", str(replies)], env)
    assert refused.returncode == 2
    assert "line 3: recipient:" in refused.stderr
    assert "line 4: received_at: 'yesterday' is not a date and time" in refused.stderr
    assert _run(["replies", "--json"], env).stdout == ""

    replies.write_text(
        "recipient,received_at,text\nhttps://www.linkedin.com/in/bo,2026-11-20T14:05:00,Sure\n",
        encoding="utf-8",
    )
    imported = _run(["replies", "import", str(replies)], env)
    assert imported.returncode == 0, imported.stderr
    # Nothing was sent to bo yet: the reply came from elsewhere, so bo gets neither step.
    assert "1 replies recorded (0 already known); 2 pending sends cancelled" in imported.stdout
    [reply] = [json.loads(line) for line in _run(["replies", "--json"], env).stdout.splitlines()]
    assert (reply["recipient"], reply["how"], reply["text"]) == (
        "https://www.linkedin.com/in/bo",
        "import",
        "Sure",
    )
    assert reply["received_at"].startswith("2026-11-20T14:05:00")
    status = json.loads(_run(["campaign", "status", "spring", "--json"], env).stdout)
    assert status["steps"] == {
        "1": {"queued": 1, "cancelled": 1},
        "2": {"waiting": 1, "cancelled": 1},
    }


def test_db_upgrade_migrates_an_empty_database_and_check_confirms_it(
    tmp_path: Path, database_url: str
) -> None:
    with empty_database(database_url, tmp_path) as engine:
        env = _env(tmp_path, OUTREACH_DATABASE_URL=engine.url.render_as_string(hide_password=False))

        first = _run(["db", "upgrade"], env)
        again = _run(["db", "upgrade"], env)
        check = _run(["db", "check"], env)
        current = _run(["db", "current"], env)

    assert first.returncode == 0, first.stderr
    assert "upgraded from an empty database to revision" in first.stdout
    assert again.stdout.startswith("already at revision")
    assert check.returncode == 0, check.stderr
    assert "matches the models" in check.stdout
    assert current.stdout.count(schema.head()) == 2


def test_a_server_database_that_was_not_migrated_is_refused_with_the_fix(
    tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the embedded SQLite is created on the spot")
    with empty_database(database_url, tmp_path) as engine:
        env = _env(tmp_path, OUTREACH_DATABASE_URL=engine.url.render_as_string(hide_password=False))
        result = _run(["deliveries"], env)

    assert result.returncode == 2
    assert "has no outreach schema" in result.stderr
    assert "run `outreach db upgrade` first" in result.stderr
