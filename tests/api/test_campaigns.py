"""Campaigns over HTTP: a multipart upload of the spec (TOML or JSON) and the leads, dry
runs, refused rows with their line numbers, the status report, and steering."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from scheduler.steering import campaign_report
from tests.api.server import ACCOUNTS, RunningApi, serve
from worker.campaign_store import IMPORT_LOCK
from worker.runtime import Runtime

SPEC_TOML = """
name = "{name}"
accounts = ["ann", "dan"]

[[steps]]
text = "Hi {{first_name|there}}, about {{company}}."

[[steps]]
after = "3d"
text = "Following up, {{first_name|there}}."
"""
SPEC_JSON = {
    "name": "json-spring",
    "accounts": ["ann"],
    "steps": [{"text": "Hello {company}"}],
}
LEADS = "linkedin_url,first_name,company\n" + "".join(
    f"https://www.linkedin.com/in/lead-{i},Lead{i},Acme {i}\n" for i in range(6)
)
BAD_LEADS = (
    "linkedin_url,first_name,company\n"
    "https://www.linkedin.com/in/good-one,Ann,Acme\n"
    "not a profile,Bob,Beta\n"
    "https://www.linkedin.com/in/no-company,Cy,\n"
)


def _start(api: RunningApi, spec: tuple[str, bytes, str], leads: str, **fields: str) -> Any:
    with api.client(api.key) as client:
        return client.post(
            "/v1/campaigns",
            files={"spec": spec, "leads": ("leads.csv", leads.encode(), "text/csv")},
            data=fields,
        )


def _toml(name: str) -> tuple[str, bytes, str]:
    return ("spring.toml", SPEC_TOML.format(name=name).encode(), "application/toml")


def test_a_dry_run_shows_the_plan_and_writes_nothing(api: RunningApi) -> None:
    answer = _start(api, _toml("spring"), LEADS, dry_run="true")

    assert answer.status_code == 201, answer.text
    plan = answer.json()
    assert plan["dry_run"] is True and plan["recipients"] == 6 and plan["sends"] == 12
    assert api.runtime.campaigns.get("spring") is None
    assert api.runtime.store.find() == []


def test_a_campaign_starts_and_reports_as_the_cli_does(api: RunningApi) -> None:
    started = _start(api, _toml("spring"), LEADS)
    assert started.status_code == 201, started.text
    assert started.json()["sends"] == 12

    with api.client(api.read_only_key) as client:
        listed = client.get("/v1/campaigns").json()
        report = client.get("/v1/campaigns/spring").json()

    assert listed == [
        {"campaign": "spring", "status": "running", "sent": 0, "pending": 12, "other": {}}
    ]
    expected = json.loads(json.dumps(asdict(campaign_report(api.runtime, "spring")), default=str))
    assert {**report, "finish_estimate": None} == {**expected, "finish_estimate": None}
    assert report["steps"]["1"] == {"queued": 6} and report["steps"]["2"] == {"waiting": 6}


def test_a_json_spec_is_accepted(api: RunningApi) -> None:
    spec = ("spec.json", json.dumps(SPEC_JSON).encode(), "application/json")
    answer = _start(api, spec, LEADS)
    assert answer.status_code == 201, answer.text
    assert api.runtime.campaigns.get("json-spring") is not None


def test_bad_leads_refuse_the_whole_file_with_line_numbers(api: RunningApi) -> None:
    answer = _start(api, _toml("spring"), BAD_LEADS)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert [error.get("line") for error in errors] == [3, 4]
    lines = [error["message"] for error in errors]
    assert any("line 3" in line for line in lines), lines
    assert any("line 4" in line and "company" in line for line in lines), lines
    assert all("outreach-api-" not in line for line in lines)  # no server paths
    assert api.runtime.campaigns.get("spring") is None


def test_skip_invalid_imports_the_rest_and_lists_each_refused_row(api: RunningApi) -> None:
    answer = _start(api, _toml("spring"), BAD_LEADS, skip_invalid="true")

    assert answer.status_code == 201, answer.text
    plan = answer.json()
    assert plan["recipients"] == 1 and plan["rejected"] == 2
    assert [row["line"] for row in plan["rejects"]] == [3, 4]
    assert plan["rejects_file"] is None


def test_a_bad_spec_names_its_fields(api: RunningApi) -> None:
    spec = ("bad.toml", b'name = ""\naccounts = []\n', "application/toml")
    answer = _start(api, spec, LEADS)
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert {"name", "accounts", "steps"} <= fields


def test_every_missing_part_and_bad_flag_is_named_at_once(api: RunningApi) -> None:
    with api.client(api.key) as client:
        nothing = client.post(
            "/v1/campaigns", files={"other": ("x", b"x")}, data={"dry_run": "maybe"}
        )
        clash = client.post(
            "/v1/campaigns",
            files=[
                ("spec", _toml("x")),
                ("leads", ("leads.csv", LEADS.encode())),
                ("files", ("leads.csv", b"not the leads")),
            ],
        )
    assert nothing.status_code == 422
    assert [e["field"] for e in nothing.json()["errors"]] == ["dry_run", "spec", "leads"]
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "files"
    assert api.runtime.campaigns.get("x") is None


def test_a_media_file_comes_with_the_upload_and_nothing_else_is_read(api: RunningApi) -> None:
    spec = SPEC_TOML.format(name="deck") + 'media_file = "deck.pdf"\n'
    outside = SPEC_TOML.format(name="peek") + 'media_file = "/etc/hostname"\n'
    with api.client(api.key) as client:
        attached = client.post(
            "/v1/campaigns",
            files=[
                ("spec", ("deck.toml", spec.replace('"dan"', "").encode())),
                ("leads", ("leads.csv", LEADS.encode())),
                ("files", ("deck.pdf", b"%PDF-1.4 a deck")),
            ],
        )
        refused = client.post(
            "/v1/campaigns",
            files=[
                ("spec", ("peek.toml", outside.replace('"dan"', "").encode())),
                ("leads", ("leads.csv", LEADS.encode())),
            ],
        )
    assert attached.status_code == 201, attached.text
    stored = [d for d in api.runtime.store.find(campaign="deck") if d.step == 1]
    assert stored and all(d.media_ref for d in stored)
    assert refused.status_code == 422
    assert "outside the campaign file's folder" in refused.json()["errors"][0]["message"]
    assert api.runtime.campaigns.get("peek") is None


def test_a_campaign_started_while_an_import_runs_is_refused_with_409(api: RunningApi) -> None:
    engine = api.runtime.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the import's write lock keeps a second one waiting instead")
    with engine.connect() as importing:  # another import, mid-way
        importing.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": IMPORT_LOCK})
        answer = _start(api, _toml("spring"), LEADS)
        importing.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": IMPORT_LOCK})

    assert answer.status_code == 409, answer.text
    assert answer.json()["type"].endswith("import-in-progress")
    assert "start this one again" in answer.json()["detail"]
    assert api.runtime.campaigns.get("spring") is None and api.runtime.store.find() == []
    assert _start(api, _toml("spring"), LEADS).status_code == 201


def test_a_read_only_key_cannot_start_a_campaign(api: RunningApi) -> None:
    with api.client(api.read_only_key) as client:
        refused = client.post(
            "/v1/campaigns",
            files={"spec": _toml("spring"), "leads": ("leads.csv", LEADS.encode())},
        )
    assert refused.status_code == 403
    assert api.runtime.campaigns.get("spring") is None


def test_an_upload_over_its_limit_is_refused(make_runtime: Callable[..., Runtime]) -> None:
    api = serve(make_runtime(ACCOUNTS, api_max_upload_bytes=4096))
    try:
        big_leads = LEADS + "".join(
            f"https://www.linkedin.com/in/more-{i},M{i},Co\n" for i in range(500)
        )
        declared = _start(api, _toml("spring"), big_leads)
        # The same upload without a Content-Length: cut off as it streams past the limit.
        body = httpx.Request(
            "POST", "/", files={"spec": _toml("spring"), "leads": ("l.csv", big_leads.encode())}
        )
        content = body.read()
        with api.client(api.key) as client:
            streamed = client.post(
                "/v1/campaigns",
                content=(content[i : i + 1024] for i in range(0, len(content), 1024)),
                headers={"content-type": body.headers["content-type"]},
            )
    finally:
        api.stop()
    assert declared.status_code == streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"
    assert api.runtime.campaigns.get("spring") is None


def test_pause_resume_and_cancel(api: RunningApi) -> None:
    _start(api, _toml("spring"), LEADS)
    with api.client(api.key) as client:
        paused = client.post("/v1/campaigns/spring/pause")
        status_paused = client.get("/v1/campaigns/spring").json()["status"]
        resumed = client.post("/v1/campaigns/spring/resume")
        cancelled = client.post("/v1/campaigns/spring/cancel")
        unknown = client.post("/v1/campaigns/autumn/pause")
    with api.client(api.read_only_key) as reader:
        refused = reader.post("/v1/campaigns/spring/resume")

    assert paused.json() == {"campaign": "spring", "status": "paused"}
    assert status_paused == "paused"
    assert resumed.json()["status"] == "running"
    assert cancelled.json() == {"campaign": "spring", "status": "cancelled", "cancelled": 12}
    assert unknown.status_code == 404 and "spring" in unknown.json()["detail"]
    assert refused.status_code == 403
    assert api.runtime.campaigns.get("spring").status == "cancelled"  # type: ignore[union-attr]
