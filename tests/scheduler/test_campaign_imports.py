"""Campaigns as people run them, through the command line: forgiving imports (rejects file,
column mapping, delimiters, fallbacks, spintax), richer steps (subject, InMail, media, A/B
variants) and `add-leads`. Sends go over real HTTP to the sandbox, driven in-process with a
virtual clock; everything a user reads comes from `outreach`."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from scheduler import campaign_import
from tests.cli_run import cli_env, run_cli
from tests.scheduler.test_campaigns import VirtualClock, drive
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.dev.sandbox.server import Sandbox
from worker.models import MediaRecord, Status
from worker.runtime import Runtime

pytestmark = pytest.mark.slow  # `outreach` processes, many of them
ACCOUNTS = {"ann": "linkup", "cy": "connectsafely"}


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], sandbox_server: Sandbox) -> Runtime:
    url = sandbox_server.url
    return make_runtime(
        ACCOUNTS,
        linkup_base_url=url,
        connectsafely_base_url=url,
        pace_min_seconds=30,
        pace_max_seconds=60,
        read_min_seconds=0,
    )


@pytest.fixture
def env(runtime: Runtime, tmp_path: Path) -> dict[str, str]:
    """The same Redis, database and accounts file as `runtime`, for `outreach` processes."""
    settings = runtime.settings
    return cli_env(
        tmp_path,
        OUTREACH_ACCOUNTS_FILE=str(settings.accounts_file),
        OUTREACH_REDIS_URL=settings.redis_url or "",
        OUTREACH_DATABASE_URL=settings.database_url or "",
        OUTREACH_LINKUP_BASE_URL=settings.linkup_base_url,
        OUTREACH_CONNECTSAFELY_BASE_URL=settings.connectsafely_base_url,
    )


def _write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def _ok(args: list[str], env: dict[str, str]) -> str:
    result = run_cli(args, env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _status(name: str, env: dict[str, str]) -> dict[str, object]:
    report: dict[str, object] = json.loads(_ok(["campaign", "status", name, "--json"], env))
    return report


SPRING = """
name = "spring"
accounts = ["ann"]
[[steps]]
text = "Hi {first_name}, about {company|your team}."
"""
MESSY = (
    b"linkedin_url,first_name,company\n"
    b"https://www.linkedin.com/in/ok-1,Ann,Acme\n"  # 2
    b"https://www.linkedin.com/in/ok-2,,Beta\n"  # 3: empty, no fallback
    b"not a url,Cy,Gamma\n"  # 4
    b"https://www.linkedin.com/in/OK-1/,Annie,Acme\n"  # 5: line 2 again
    b"https://www.linkedin.com/in/ok-3,Di,Delta,extra\n"  # 6: a cell too many
    b"https://www.linkedin.com/in/ok-4,Eve,\n"  # 7: fine, company falls back
    b"https://www.linkedin.com/in/jos\xe9,Jos\xe9,X\n"  # 8: Latin-1
)


def test_skip_invalid_imports_the_good_rows_and_writes_each_refused_one_with_its_reason(
    env: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    files = [_write(tmp_path / "spring.toml", SPRING), _write(tmp_path / "leads.csv", MESSY)]

    refused = run_cli(["campaign", "start", *files], env)
    assert refused.returncode == 2
    assert "line 3, column first_name: empty" in refused.stderr
    assert "line 5, column linkedin_url: the same recipient as line 2" in refused.stderr
    assert run_cli(["campaigns", "--json"], env).stdout == ""

    dry = json.loads(
        _ok(["campaign", "start", *files, "--skip-invalid", "--dry-run", "--json"], env)
    )
    assert dry["rejects_file"] == str(tmp_path / "REJECTS.csv")  # beside the leads, by default
    assert (tmp_path / "REJECTS.csv").exists()
    assert runtime.store.find() == []

    rejects = tmp_path / "out" / "bad.csv"
    plan = json.loads(
        _ok(
            ["campaign", "start", *files, "--skip-invalid", "--rejects", str(rejects), "--json"],
            env,
        )
    )
    assert (plan["recipients"], plan["sends"], plan["rejected"], plan["duplicates"]) == (2, 2, 4, 1)
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "linkedin_url", "first_name", "company"]
    by_line = {row[0]: row for row in rows[1:]}
    assert sorted(by_line, key=int) == ["3", "4", "6", "8"]
    assert by_line["3"][1].startswith("first_name: empty, but a template uses it")
    assert by_line["3"][2:] == ["https://www.linkedin.com/in/ok-2", "", "Beta"]
    assert by_line["4"][1].startswith("linkedin_url: ") and by_line["4"][2] == "not a url"
    assert by_line["6"][1] == "4 cells where the header has 3"
    assert "not UTF-8" in by_line["8"][1]
    texts = {d.recipient: d.text for d in runtime.store.find(campaign="spring")}
    assert texts == {
        "https://www.linkedin.com/in/ok-1": "Hi Ann, about Acme.",
        "https://www.linkedin.com/in/ok-4": "Hi Eve, about your team.",
    }
    assert _status("spring", env)["steps"] == {"1": {"queued": 2}}


def test_a_dry_run_over_a_big_file_uses_two_cores_behind_the_progress_bar(
    env: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    rows = 140_000  # 9 MB: past the size from which a dry run uses two cores
    leads = tmp_path / "big.csv"
    with leads.open("w", encoding="utf-8") as out:
        out.write("linkedin_url,first_name,company\n")
        out.writelines(
            f"https://www.linkedin.com/in/big-{i},P{i},Company {i % 97:04} Ltd\n"
            for i in range(rows)
        )
    files = [_write(tmp_path / "spring.toml", SPRING), str(leads)]
    assert leads.stat().st_size > campaign_import.PARALLEL_FROM_BYTES

    shown = run_cli(["campaign", "start", *files, "--dry-run"], env, timeout=120)
    as_json = run_cli(["campaign", "start", *files, "--dry-run", "--json"], env, timeout=120)

    for done in (shown, as_json):  # (with the progress bar's thread, and without)
        assert done.returncode == 0, done.stderr
        assert "dry_run_on_two_cores" in done.stderr
        assert "dry_run_reads_file_whole" not in done.stderr
    plan = json.loads(as_json.stdout)
    assert (plan["recipients"], plan["sends"], plan["rejected"]) == (rows, rows, 0)
    assert runtime.store.find() == []


CRM = """
name = "crm"
accounts = ["ann"]
[columns]
first_name = "First Name"
linkedin_url = "LinkedIn Profile"
[[steps]]
text = "[[Hi|Hello|Hey]] {first_name|there}, {{braces}} stay."
"""


def test_a_crm_export_is_read_through_the_column_mapping(
    env: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    rows = [f"https://www.linkedin.com/in/crm-{i};Name{i};Acme" for i in range(30)]
    rows[7] = "https://www.linkedin.com/in/crm-7;;Acme"  # no first name: the fallback
    export = "\ufeffLinkedIn Profile;First Name;Company\n" + "\n".join(rows) + "\n"
    files = [_write(tmp_path / "crm.toml", CRM), _write(tmp_path / "export.csv", export)]

    dry = json.loads(_ok(["campaign", "start", *files, "--dry-run", "--json"], env))
    _ok(["campaign", "start", *files], env)

    texts = {d.recipient: d.text for d in runtime.store.find(campaign="crm")}
    assert len(texts) == 30
    pattern = re.compile(r"^(Hi|Hello|Hey) (Name\d+|there), \{braces\} stay\.$")
    assert all(pattern.match(text) for text in texts.values()), texts
    assert texts["https://www.linkedin.com/in/crm-7"].endswith(" there, {braces} stay.")
    greetings = Counter(text.split()[0] for text in texts.values())
    assert len(greetings) == 3  # every option is drawn…
    sample = dry["samples"]["ann"]
    assert texts[sample["to"]] == sample["text"]  # …and a recipient's draw never changes


def test_a_file_that_cannot_be_read_as_mapped_says_what_to_fix(
    env: dict[str, str], tmp_path: Path
) -> None:
    campaign = _write(tmp_path / "crm.toml", CRM)
    utf16 = _write(tmp_path / "utf16.csv", "LinkedIn Profile,First Name\n".encode("utf-16"))
    unmapped = _write(
        tmp_path / "plain.csv", "linkedin_url,first_name\nhttps://www.linkedin.com/in/a,A\n"
    )

    result = run_cli(["campaign", "start", campaign, utf16], env)
    assert result.returncode == 2
    assert "line 1 is UTF-16 text, not UTF-8; save the file as UTF-8" in result.stderr
    result = run_cli(["campaign", "start", campaign, unmapped], env)
    assert result.returncode == 2
    assert (
        "[columns] maps first_name = 'First Name'; linkedin_url = 'LinkedIn Profile',"
        " but the header has no such column" in result.stderr
    )


AB = """
name = "ab"
accounts = ["cy"]
[[steps]]
subject = "About {company}"
inmail = true
[[steps.variants]]
name = "short"
text = "Hi {first_name}!"
weight = 3
[[steps.variants]]
name = "long"
text = "Hi {first_name}, a longer note about {company}."
[[steps]]
after = "1d"
text = "Following up, {first_name}."
"""


def test_variants_are_drawn_by_weight_recorded_sent_and_reported_per_step(
    env: dict[str, str], runtime: Runtime, sandbox: SandboxClient, tmp_path: Path
) -> None:
    leads = "linkedin_url,first_name,company\n" + "".join(
        f"https://www.linkedin.com/in/ab-{i},P{i},Co{i}\n" for i in range(40)
    )
    files = [_write(tmp_path / "ab.toml", AB), _write(tmp_path / "ab.csv", leads)]
    plan = json.loads(_ok(["campaign", "start", *files, "--json"], env))
    short, long = plan["variants"]["1:short"], plan["variants"]["1:long"]
    assert short + long == 40 and short > long > 0  # weights 3:1

    clock = VirtualClock(datetime.now(UTC))  # `outreach` queued them for now
    drive(runtime, clock, clock.now + timedelta(hours=2))  # the first steps only
    firsts = {m["recipient"]: m for m in sandbox.messages()}
    deliveries = {d.recipient: d for d in runtime.store.find(campaign="ab") if d.step == 0}
    assert len(firsts) == 40 and all(d.status == Status.SENT for d in deliveries.values())
    for recipient, delivery in deliveries.items():
        message = (
            firsts[recipient.rsplit("/", 1)[-1]] if recipient not in firsts else firsts[recipient]
        )
        assert message["message_type"] == "inmail" and message["path"].endswith("/messaging/send")
        company = "Co" + recipient.rsplit("-", 1)[-1]
        assert message["subject"] == f"About {company}"
        expected = (
            "Hi P{0}!" if delivery.variant == "short" else "Hi P{0}, a longer note about Co{0}."
        )
        assert message["text"] == expected.format(recipient.rsplit("-", 1)[-1])
    repliers = sorted(r for r, d in deliveries.items() if d.variant == "long")[:2]
    at_ms = int(clock.now.timestamp() * 1000)
    for recipient in repliers:
        sandbox.reply(sender_of(runtime.accounts["cy"]), recipient, "Tell me more", at_ms=at_ms)

    drive(runtime, clock, clock.now + timedelta(days=3))

    report = _status("ab", env)
    assert report["variants"] == [
        {
            "step": 1,
            "variant": "long",
            "sent": long,
            "replied": 2,
            "reply_rate": round(2 / long, 4),
        },
        {"step": 1, "variant": "short", "sent": short, "replied": 0, "reply_rate": 0.0},
    ]
    followups = [m for m in sandbox.messages() if m["text"].startswith("Following up")]
    assert len(followups) == 38  # the two who answered get none
    # An InMail opens the conversation; the follow-up goes into it.
    assert {m["path"] for m in followups} == {"/linkedin/conversations/send"}
    assert all(m["conversation_urn"] for m in followups), followups[0]
    human = _ok(["campaign", "status", "ab"], env)
    assert "variant" in human and "long" in human and "short" in human
    listed = [
        json.loads(line)
        for line in _ok(["deliveries", "--campaign", "ab", "--json"], env).splitlines()
    ]
    assert Counter(row["variant"] for row in listed if row["step"] == 0) == {
        "short": short,
        "long": long,
    }


def test_each_step_is_checked_against_the_providers_that_would_send_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    leads = _write(tmp_path / "leads.csv", "linkedin_url\nhttps://www.linkedin.com/in/ada\n")
    linkup_inmail = """
name = "x"
accounts = ["ann"]
[[steps]]
text = "Hello"
inmail = true
attachments = ["deck.pdf"]
"""
    result = run_cli(["campaign", "start", _write(tmp_path / "x.toml", linkup_inmail), leads], env)
    assert result.returncode == 2
    assert "steps[1].attachments: ConnectSafely takes attachments only from its" in result.stderr
    assert "upload-attachment endpoint, which its documentation does not describe" in result.stderr

    del_attachments = linkup_inmail.replace('attachments = ["deck.pdf"]\n', "")
    result = run_cli(
        ["campaign", "start", _write(tmp_path / "x.toml", del_attachments), leads], env
    )
    assert result.returncode == 2
    assert "steps[1]: no account of this campaign can send it (linkup: inmail:" in result.stderr

    # Each step alone has a provider, but no account can send both to one person.
    (tmp_path / "deck.pdf").write_bytes(b"%PDF-1.4 deck")
    mixed = """
name = "mixed"
accounts = ["ann", "cy"]
[[steps]]
text = "Hello"
inmail = true
[[steps]]
after = "1d"
text = "Here is the deck"
media_file = "deck.pdf"
"""
    result = run_cli(["campaign", "start", _write(tmp_path / "mixed.toml", mixed), leads], env)
    assert result.returncode == 2
    assert "line 2: no account in the pool can send this: " in result.stderr
    assert "inmail: LinkUp send-message cannot send this" in result.stderr
    assert "media_file: ConnectSafely takes attachments only" in result.stderr
    assert run_cli(["campaigns", "--json"], env).stdout == ""


def test_a_media_file_is_stored_once_and_sent_with_each_message(
    env: dict[str, str], runtime: Runtime, sandbox: SandboxClient, tmp_path: Path
) -> None:
    (tmp_path / "deck.pdf").write_bytes(b"%PDF-1.4 the deck")
    campaign = """
name = "deck"
accounts = ["ann"]
[[steps]]
text = "Hi {first_name}, the deck:"
media_file = "deck.pdf"
[[steps]]
after = "2d"
text = "And the video"
media_link = "https://example.com/video.mp4"
"""
    leads = "linkedin_url,first_name\n" + "".join(
        f"https://www.linkedin.com/in/deck-{i},P{i}\n" for i in range(5)
    )
    files = [_write(tmp_path / "deck.toml", campaign), _write(tmp_path / "deck.csv", leads)]
    _ok(["campaign", "start", *files], env)

    clock = VirtualClock(datetime.now(UTC))
    drive(runtime, clock, clock.now + timedelta(days=3))

    messages = sandbox.messages()
    firsts = [m for m in messages if m["text"].startswith("Hi ")]
    seconds = [m for m in messages if m["text"] == "And the video"]
    assert len(firsts) == len(seconds) == 5
    assert {m["media"] for m in firsts} == {"media_file"}
    assert {m["media"] for m in seconds} == {"https://example.com/video.mp4"}
    [ref] = {d.media_ref for d in runtime.store.find(campaign="deck") if d.step == 0}
    assert ref is not None
    stored = runtime.campaigns.media(ref)
    assert (stored.content_type, stored.data) == ("application/pdf", b"%PDF-1.4 the deck")
    # A second campaign attaching the same file stores it no second time.
    again = _write(tmp_path / "again.toml", campaign.replace('"deck"', '"again"', 1))
    _ok(["campaign", "start", again, files[1], "--json"], env)
    with Session(runtime.store.engine) as session:
        assert len(session.exec(select(MediaRecord)).all()) == 1


def test_add_leads_extends_a_running_campaign_and_never_contacts_anyone_twice(
    env: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    campaign = """
name = "grow"
accounts = ["ann"]
[[steps]]
text = "[[Hi|Hello]] {first_name|there}"
[[steps]]
after = "2d"
text = "Again, {first_name|there}"
"""
    first = "linkedin_url,first_name\n" + "".join(
        f"https://www.linkedin.com/in/grow-{i},G{i}\n" for i in range(3)
    )
    files = [_write(tmp_path / "grow.toml", campaign), _write(tmp_path / "first.csv", first)]
    _ok(["campaign", "start", *files], env)
    elsewhere = _write(
        tmp_path / "other.toml", campaign.replace('"grow"', '"other"', 1).replace("G", "O")
    )
    _ok(
        [
            "campaign",
            "start",
            elsewhere,
            _write(
                tmp_path / "o.csv", "linkedin_url,first_name\nhttps://www.linkedin.com/in/taken,\n"
            ),
        ],
        env,
    )
    _ok(["recipients", "opt-out", "https://www.linkedin.com/in/quiet"], env)
    (tmp_path / "grow.toml").unlink()  # the campaign keeps its own copy of the file

    more = _write(
        tmp_path / "more.csv",
        "first_name,linkedin_url\n"  # another column order: read by name
        "G1,https://www.linkedin.com/in/grow-1\n"  # 2: already in this campaign
        ",https://www.linkedin.com/in/quiet\n"  # 3: opted out
        "T,https://www.linkedin.com/in/taken\n"  # 4: another campaign has them
        "N,https://www.linkedin.com/in/newcomer\n"  # 5: new
        "X,not-a-profile url\n",  # 6: refused
    )
    refused = run_cli(["campaign", "add-leads", "grow", more], env)
    assert refused.returncode == 2 and "line 6, column linkedin_url" in refused.stderr
    assert len(runtime.store.find(campaign="grow")) == 6

    human = _ok(["campaign", "add-leads", "grow", more, "--dry-run", "--skip-invalid"], env)
    assert "skipped https://www.linkedin.com/in/grow-1: already in this campaign" in human
    assert "skipped https://www.linkedin.com/in/quiet: opted out" in human
    assert "skipped https://www.linkedin.com/in/taken: already contacted by outreach" in human

    plan = json.loads(_ok(["campaign", "add-leads", "grow", more, "--skip-invalid", "--json"], env))
    assert (plan["recipients"], plan["skipped"], plan["rejected"], plan["sends"]) == (4, 3, 1, 2)
    rows = {(d.recipient, d.step): d for d in runtime.store.find(campaign="grow")}
    newcomer = "https://www.linkedin.com/in/newcomer"
    assert rows[(newcomer, 0)].status == Status.QUEUED
    assert rows[(newcomer, 1)].status == Status.WAITING
    assert re.match(r"^(Hi|Hello) N$", rows[(newcomer, 0)].text)
    assert _status("grow", env)["steps"] == {
        "1": {"queued": 4, "skipped": 2},
        "2": {"waiting": 4},
    }
    assert runtime.due_index.state("ann").queued == 5  # 3 + 1 here, 1 in "other"

    unknown = run_cli(["campaign", "add-leads", "nope", more], env)
    assert unknown.returncode == 2 and "no campaign named 'nope'" in unknown.stderr
    _ok(["campaign", "cancel", "grow"], env)
    cancelled = run_cli(["campaign", "add-leads", "grow", more], env)
    assert cancelled.returncode == 2 and "is cancelled; start a new one" in cancelled.stderr


def test_an_inmail_follow_up_opens_its_own_conversation(
    env: dict[str, str], runtime: Runtime, sandbox: SandboxClient, tmp_path: Path
) -> None:
    campaign = """
name = "nudge"
accounts = ["cy"]
[[steps]]
text = "Hi {first_name|there}"
[[steps]]
after = "1d"
inmail = true
subject = "One more thing"
text = "A last note, by InMail."
"""
    leads = "linkedin_url,first_name\n" + "".join(
        f"https://www.linkedin.com/in/nudge-{i},N{i}\n" for i in range(3)
    )
    _ok(
        [
            "campaign",
            "start",
            _write(tmp_path / "n.toml", campaign),
            _write(tmp_path / "n.csv", leads),
        ],
        env,
    )

    clock = VirtualClock(datetime.now(UTC))
    drive(runtime, clock, clock.now + timedelta(days=2))

    deliveries = runtime.store.find(campaign="nudge")
    assert {d.status for d in deliveries} == {Status.SENT}, [d.error for d in deliveries]
    inmails = [m for m in sandbox.messages() if m["message_type"] == "inmail"]
    assert len(inmails) == 3
    assert {(m["path"], m["subject"], m["conversation_urn"]) for m in inmails} == {
        ("/linkedin/messaging/send", "One more thing", None)
    }


def test_add_leads_twice_and_a_rejects_file_that_is_the_leads_file(
    env: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    leads = "linkedin_url,first_name,company\nhttps://www.linkedin.com/in/twice-1,T,Co\n"
    files = [_write(tmp_path / "spring.toml", SPRING), _write(tmp_path / "first.csv", leads)]
    _ok(["campaign", "start", *files], env)
    _ok(["recipients", "opt-out", "https://www.linkedin.com/in/twice-1"], env)
    more = _write(tmp_path / "REJECTS.csv", leads + "https://www.linkedin.com/in/twice-2,U,Co\n")

    for _ in range(2):  # the second time, both are in the campaign
        _ok(["campaign", "add-leads", "spring", more, "--rejects", str(tmp_path / "r.csv")], env)
    assert sorted(d.recipient for d in runtime.store.find(campaign="spring")) == [
        "https://www.linkedin.com/in/twice-1",
        "https://www.linkedin.com/in/twice-2",
    ]
    same = run_cli(["campaign", "add-leads", "spring", more, "--skip-invalid"], env)
    assert same.returncode == 2 and "REJECTS.csv is the leads file" in same.stderr
    assert Path(more).read_text(encoding="utf-8").count("\n") == 3  # untouched
