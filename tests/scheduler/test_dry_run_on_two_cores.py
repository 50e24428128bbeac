"""A dry run over a big file reads it on two cores: a forked helper checks the second part
while this process checks the first, then takes the helper's verdicts in line order. Whatever
the file holds, the plan, the errors and the refused rows are those of a dry run on one core;
a cut that cannot be trusted, or a helper that dies, gives the one-core run instead."""

from __future__ import annotations

import csv
import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scheduler import campaign_import, helper_process
from scheduler.campaign_file import load_campaign
from scheduler.campaign_import import LeadsImport, Plan
from scheduler.campaigns import start_campaign
from scheduler.helper_process import Helper
from scheduler.leads import MARK, Part
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
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # (a BOM, as Excel)
        writer = csv.writer(handle)  # (\r\n line ends)
        writer.writerow(["linkedin_url", "first_name", "company"])
        for number, row in enumerate(rows):
            writer.writerow(row)
            if number % 500 == 0:
                handle.write("\r\n")  # a blank line
        handle.write(f"{_url(5)},short row\r\n")
    return path


def _dry_run(
    runtime: Runtime, campaign: str, leads: Path, tmp_path: Path, **options: Any
) -> tuple[Plan | list[str], list[list[str]], int]:
    """The plan (or the errors), the refused rows, sorted (each part writes its own in line
    order; where a batch puts its refusals among the other part's is no promise), and the
    rows the progress callback was told of."""
    campaign_file = tmp_path / "split.toml"
    campaign_file.write_text(campaign, "utf-8")
    rejects = tmp_path / "rejects.csv"
    progress: Counter[str] = Counter()
    run = LeadsImport(
        runtime, load_campaign(campaign_file), leads, now=NOW, rejects=rejects,
        progress=lambda phase, count: progress.update({phase: count}), **options,
    )  # fmt: skip
    try:
        plan: Plan | list[str] = run.run()
    except CampaignInputError as exc:
        plan = exc.lines
    rows = []
    if rejects.exists():
        with rejects.open(encoding="utf-8") as written:
            rows = sorted(csv.reader(written))
        rejects.unlink()
    return plan, rows, progress["importing"]


def _rows(leads: Path) -> int:
    """The rows a leads file holds (blank lines and the header aside)."""
    with leads.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for row in csv.reader(handle) if row) - 1


class _CountingHelper(Helper):
    """A Helper that counts the batches taken from it (so a test knows the cut was used), and
    the passes the dry run made over the file."""

    taken = 0
    passes = 0

    def batches(self) -> Any:
        for batch in super().batches():
            _CountingHelper.taken += 1
            yield batch


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[_CountingHelper]:
    _CountingHelper.taken = _CountingHelper.passes = 0
    monkeypatch.setattr(campaign_import, "Helper", _CountingHelper)
    one_pass = LeadsImport._run

    def counted_pass(self: LeadsImport, *args: Any) -> Plan:
        _CountingHelper.passes += 1
        return one_pass(self, *args)

    monkeypatch.setattr(LeadsImport, "_run", counted_pass)
    return _CountingHelper


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Batches of 300 (so the helper sends several), and temporary files where a test sees
    them (the helper's must be gone after each run)."""
    monkeypatch.setattr(campaign_import, "BATCH", 300)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch
    assert not list(scratch.glob("outreach-helper-*"))


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
    counting.passes = counting.taken = 0
    two = _dry_run(runtime, campaign, leads, tmp_path, skip_invalid=skip_invalid, parallel_from=1)

    assert counting.taken > 3  # the helper's batches
    assert counting.passes == 1  # and no second (one-core) pass after them
    assert two == one
    assert one[2] == _rows(leads)
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
        # Line numbers hold across the cut: blank lines (one per 500 rows) count as lines.
        assert any("line 2908, " in problem and problem.endswith("as line 5") for problem in plan)


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

    def die_halfway(imports: LeadsImport, part: Part, send: Any, batch_size: int) -> None:
        send([])
        os._exit(3)

    monkeypatch.setattr(campaign_import, "check_part", die_halfway)
    assert _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=1) == one


@pytest.mark.parametrize(
    "header",
    ["linkedin_url,company", "\nlinkedin_url,first_name,company"],
    ids=["lacking-a-field", "after-a-blank-line"],
)
def test_a_header_problem_is_reported_once(runtime: Runtime, tmp_path: Path, header: str) -> None:
    leads = _leads(tmp_path / "leads.csv")
    rows = leads.read_bytes().split(b"\r\n", 1)[1]
    leads.write_bytes(header.encode() + b"\r\n" + rows)

    one = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=False, parallel_from=None)
    two = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=False, parallel_from=1)

    assert two == one
    assert isinstance(one[0], list) and len(one[0]) == 1 and ": line 1: " in one[0][0]


def test_a_row_that_is_the_mark_itself_gives_the_one_core_run(
    runtime: Runtime, tmp_path: Path
) -> None:
    leads = _leads(tmp_path / "leads.csv")
    lines = leads.read_bytes().split(b"\r\n")
    lines[len(lines) // 5] = MARK.encode()  # well inside the first part
    leads.write_bytes(b"\r\n".join(lines))

    one = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=None)
    two = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=1)

    assert two == one
    assert isinstance(one[0], Plan) and one[0].recipients > 2800  # (the file was read)


def test_a_helper_that_stalls_gives_the_one_core_run(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leads = _leads(tmp_path / "leads.csv")
    one = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=None)

    def stall(imports: LeadsImport, part: Part, send: Any, batch_size: int) -> None:
        time.sleep(60)

    monkeypatch.setattr(campaign_import, "check_part", stall)
    monkeypatch.setattr(helper_process, "STALL_S", 0.5)
    started = time.monotonic()
    assert _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=1) == one
    assert time.monotonic() - started < 30


def test_a_dry_run_off_the_main_thread_uses_one_core(
    runtime: Runtime, tmp_path: Path, counting: type[_CountingHelper]
) -> None:
    leads = _leads(tmp_path / "leads.csv")
    one = _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=None)
    found: list[object] = []

    # As the API runs an import: on a worker thread of a server.
    thread = threading.Thread(
        target=lambda: found.append(
            _dry_run(runtime, PLAIN, leads, tmp_path, skip_invalid=True, parallel_from=1)
        )
    )
    thread.start()
    thread.join()

    assert found == [one]
    assert counting.taken == 0


def test_a_failure_after_the_fork_leaves_no_helper_behind(
    runtime: Runtime, tmp_path: Path, counting: type[_CountingHelper]
) -> None:
    leads = _leads(tmp_path / "leads.csv")
    (tmp_path / "a-file").write_text("", "utf-8")
    campaign_file = tmp_path / "split.toml"
    campaign_file.write_text(PLAIN, "utf-8")
    run = LeadsImport(
        runtime, load_campaign(campaign_file), leads, skip_invalid=True,
        rejects=tmp_path / "a-file" / "rejects.csv", parallel_from=1,
    )  # fmt: skip

    with pytest.raises(OSError):  # the rejects file cannot be made: after the fork
        run.run()

    assert counting.passes == 1  # (the autouse fixture checks its file is gone)
