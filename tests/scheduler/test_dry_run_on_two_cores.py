"""A dry run over a big file reads it on two cores: a forked helper checks the second part
while this process checks the first, then takes the helper's verdicts in line order. Whatever
the file holds, the plan, the errors and the refused rows are those of a dry run on one core;
a cut that cannot be trusted, or a helper that dies, gives the one-core run instead."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scheduler import campaign_import
from scheduler.campaign_file import load_campaign
from scheduler.campaign_import import LeadsImport, Plan
from scheduler.campaigns import start_campaign
from scheduler.helper_process import Helper
from scheduler.leads import Part
from scheduler.steering import opt_out
from worker.errors import CampaignInputError
from worker.runtime import Runtime

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PLAIN = """
name = "split"
accounts = ["ann", "dan", "eve"]
[[steps]]
text = "Hi {first_name}, about {company|your team}."
[[steps]]
after = "2d"
text = "Following up, {first_name}."
"""
VARIANTS = """
name = "split"
accounts = ["ann", "dan", "eve"]
[[steps]]
[[steps.variants]]
name = "short"
text = "Hi {first_name}!"
weight = 3
[[steps.variants]]
name = "long"
text = "Hi {first_name}, [[about|regarding]] {company|your team}."
[[steps]]
after = "2d"
text = "Following up, {first_name}."
"""
ROWS = 3000


def _url(i: int) -> str:
    return f"https://www.linkedin.com/in/person-{i}"


def _leads(path: Path) -> Path:
    """A file with something wrong, repeated or skipped in both parts of any cut."""
    rows = []
    for i in range(ROWS):
        name, company, url = f"P{i}", f"Co {i % 13}" if i % 5 else "", _url(i)
        if i % 97 == 0:
            name = ""  # a template needs it
        elif i % 89 == 0:
            url = f"not a profile {i}"
        elif i % 83 == 0:
            url = _url(i // 2)  # a recipient an earlier line named
        elif i % 79 == 0:
            name = "N" * 9000  # longer than LinkUp and ConnectSafely take, not OutX
        elif i % 73 == 0:
            name = "N" * 11000  # longer than any provider takes
        rows.append([url, name, company])
    rows[1500] = rows[2900] = [_url(2), "Again", "Co"]
    rows[2950][2] = "Acme\nWest"  # a quoted cell over two lines
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["linkedin_url", "first_name", "company"])
        writer.writerows(rows)
        handle.write(f"{_url(5)},short row\n")
    return path


def _dry_run(
    runtime: Runtime, campaign: str, leads: Path, tmp_path: Path, **options: Any
) -> tuple[Plan | list[str], list[list[str]]]:
    """The plan (or the errors) and the refused rows, sorted (each part writes its own in
    line order; where a batch puts its refusals among the other part's is no promise)."""
    campaign_file = tmp_path / "split.toml"
    campaign_file.write_text(campaign, "utf-8")
    rejects = tmp_path / "rejects.csv"
    run = LeadsImport(
        runtime, load_campaign(campaign_file), leads, now=NOW, rejects=rejects, **options
    )
    try:
        plan: Plan | list[str] = run.run()
    except CampaignInputError as exc:
        plan = exc.lines
    rows = []
    if rejects.exists():
        with rejects.open(encoding="utf-8") as written:
            rows = sorted(csv.reader(written))
        rejects.unlink()
    return plan, rows


class _CountingHelper(Helper):
    """A Helper that counts the batches taken from it (so a test knows the cut was used)."""

    taken = 0

    def batches(self) -> Any:
        for batch in super().batches():
            _CountingHelper.taken += 1
            yield batch


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[_CountingHelper]:
    _CountingHelper.taken = 0
    monkeypatch.setattr(campaign_import, "Helper", _CountingHelper)
    return _CountingHelper


@pytest.mark.parametrize("campaign", [PLAIN, VARIANTS], ids=["plain", "variants"])
@pytest.mark.parametrize("skip_invalid", [True, False], ids=["skip-invalid", "whole-file"])
def test_two_cores_plan_what_one_core_plans(
    runtime: Runtime,
    tmp_path: Path,
    counting: type[_CountingHelper],
    campaign: str,
    skip_invalid: bool,
) -> None:
    leads = _leads(tmp_path / "leads.csv")
    opt_out(runtime, [_url(2001), _url(2)])
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "c.toml").write_text(PLAIN.replace('"split"', '"earlier"'), "utf-8")
    (earlier / "l.csv").write_text(
        f"linkedin_url,first_name,company\n{_url(2002)},A,B\n{_url(3)},C,D\n", "utf-8"
    )
    start_campaign(runtime, earlier / "c.toml", earlier / "l.csv")

    one = _dry_run(
        runtime, campaign, leads, tmp_path, skip_invalid=skip_invalid, parallel_from=None
    )
    two = _dry_run(runtime, campaign, leads, tmp_path, skip_invalid=skip_invalid, parallel_from=1)

    assert counting.taken > 0
    assert two == one
    plan = one[0]
    if skip_invalid:
        assert isinstance(plan, Plan)
        assert plan.duplicates > 2 and plan.rejected > 30 and plan.skipped_count == 4
        assert sum(plan.per_account.values()) == plan.recipients - plan.skipped_count
        assert set(plan.per_account) == {"ann", "dan", "eve"}
        if campaign is VARIANTS:
            assert set(plan.variants) == {(1, "short"), (1, "long")}
    else:
        assert isinstance(plan, list) and len(plan) > 60
        assert any("line 2902" in problem and "line 4" in problem for problem in plan)


@pytest.mark.parametrize("where", ["mid-line", "in a quoted cell"])
def test_a_cut_the_reader_disproves_gives_the_one_core_run(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    leads = _leads(tmp_path / "leads.csv")
    one = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=None)
    data = leads.read_bytes()
    if where == "mid-line":
        cut = data.index(b"\n", len(data) // 3) - 3
    else:  # after a line end, but one inside "Acme\nWest"
        cut = data.index(b"Acme\nWest") + len(b"Acme\n")
    monkeypatch.setattr(
        campaign_import,
        "cut_in_two",
        lambda path, share: (
            Part(data.index(b"\n") + 1, cut, 1),
            Part(cut, None, data.count(b"\n", 0, cut)),
        ),
    )

    assert _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=1) == one


def test_a_helper_that_dies_gives_the_one_core_run(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leads = _leads(tmp_path / "leads.csv")
    one = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=None)

    def die_halfway(self: LeadsImport, part: Part, send: Any) -> None:
        send([])
        os._exit(3)

    monkeypatch.setattr(LeadsImport, "_check_part", die_halfway)
    assert _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=1) == one
