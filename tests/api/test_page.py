"""The live page: signing in with an API key, what the page shows and that it is escaped, the
charts' geometry; and, marked slow, the page in Chromium against a running stack."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from scheduler.api.api_keys import ApiKeys
from scheduler.api.auth import COOKIE
from scheduler.api.page import charts, queries
from scheduler.campaigns import start_campaign
from scheduler.operations import AccountSummary, account_state
from scheduler.steering import campaign_report
from tests.api.page_stack import ANSWER, CAMPAIGN, page_stack
from tests.api.server import RunningApi
from tests.conftest import IN_CI
from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.server import Sandbox
from worker.models import Attempt, Delivery, ReplyHow, Status
from worker.recipient_store import NewReply
from worker.runtime import Runtime

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SCRIPT = "<script>alert('pwned')</script>"
CHROMIUM = "/usr/bin/chromium"
STATUSES = ("sent", "failed", "unknown", "cancelled", "skipped")


def start(runtime: Runtime, folder: Path, name: str = "q4", leads: int = 4) -> list[Delivery]:
    """A two-step campaign from ann and dan; its deliveries."""
    spec = folder / f"{name}.toml"
    spec.write_text(
        f'name = "{name}"\naccounts = ["ann", "dan"]\n'
        '[[steps]]\ntext = "Hi {first_name}."\n'
        '[[steps]]\nafter = "1d"\ntext = "Following up, {first_name}."\n',
        encoding="utf-8",
    )
    csv = folder / f"{name}.csv"
    csv.write_text(
        "linkedin_url,first_name\n"
        + "".join(f"https://www.linkedin.com/in/{name}-lead-{i},P{i}\n" for i in range(leads)),
        encoding="utf-8",
    )
    start_campaign(runtime, spec, csv)
    return runtime.store.find(campaign=name)


def finish(runtime: Runtime, delivery: Delivery, status: Status, at: datetime) -> None:
    """End a delivery as a worker would: the send request, then the row's new status."""
    runtime.store.record(
        Attempt(
            delivery_id=delivery.id or 0,
            account=delivery.account,
            kind="send",
            started_at=at,
            outcome=status.value,
        )
    )
    changes = {"status": status, "updated_at": at, "error": f"made {status.value} by the test"}
    if status == Status.SENT:
        changes["sent_at"] = at
    assert runtime.store.move(delivery.id or 0, [Status.QUEUED], changes)


def reply(runtime: Runtime, delivery: Delivery, text: str) -> None:
    answer = NewReply(
        delivery.recipient, datetime.now(UTC), ReplyHow.INBOX, delivery.account,
        delivery.campaign, delivery.step, text=text,
    )  # fmt: skip
    runtime.recipients.record_replies([answer], datetime.now(UTC))


@contextmanager
def sign_in(api: RunningApi, key: str) -> Iterator[httpx.Client]:
    """A client holding only the page's cookie, as a browser would after the form."""
    with api.client() as client:
        answer = client.post("/login", data={"key": key})
        assert answer.status_code == 303, answer.text
        yield client


class Metrics(HTMLParser):
    """Every `data-metric` value on a page, under the campaign, step and account it sits in."""

    VOID = frozenset({"input", "link", "meta", "br", "img", "hr"})
    SCOPES = ("data-campaign", "data-step", "data-account")

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[tuple[str, dict[str, str]]] = []  # tag, the scope it opens
        self.found: dict[tuple[str, ...], str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = {k: v or "" for k, v in attrs}
        self.opened.append((tag, {k: given[k] for k in self.SCOPES if k in given}))
        if "data-metric" in given and "data-value" in given:
            where = tuple(f"{k}={v}" for _, scope in self.opened for k, v in scope.items())
            self.found[(*where, given["data-metric"])] = given["data-value"]
        if tag in self.VOID:
            self.opened.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.opened.pop()

    def handle_endtag(self, tag: str) -> None:
        if any(opened == tag for opened, _ in self.opened):
            while self.opened.pop()[0] != tag:
                pass


def metrics(html: str) -> dict[tuple[str, ...], str]:
    parser = Metrics()
    parser.feed(html)
    return parser.found


# Signing in -------------------------------------------------------------------------------


def test_the_page_without_a_key_sends_you_to_sign_in(api: RunningApi) -> None:
    with api.client() as client:
        page = client.get("/")
        live = client.get("/live")
        form = client.get("/login")

    assert (page.status_code, page.headers["location"]) == (303, "login")
    assert live.status_code == 401
    assert form.status_code == 200 and 'name="key"' in form.text


def test_a_wrong_key_shows_an_error_and_sets_no_cookie(api: RunningApi) -> None:
    with api.client() as client:
        wrong = client.post("/login", data={"key": "oak_not-a-key"})
        empty = client.post("/login", data={"key": ""})
        page = client.get("/")

    assert wrong.status_code == 401 and "unknown or was revoked" in wrong.text
    assert "set-cookie" not in wrong.headers and "set-cookie" not in empty.headers
    assert empty.status_code == 401
    assert page.status_code == 303


def test_a_good_key_sets_an_http_only_strict_cookie_and_the_page_shows_campaigns(
    api: RunningApi, tmp_path: Path
) -> None:
    start(api.runtime, tmp_path)
    with api.client() as client:
        signed = client.post("/login", data={"key": api.read_only_key})
        page = client.get("/")
        again = client.get("/login")

    cookie = signed.headers["set-cookie"]
    assert (signed.status_code, signed.headers["location"]) == (303, "./")
    assert cookie.startswith(f"{COOKIE}={api.read_only_key};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would never come back
    assert page.status_code == 200
    assert 'data-campaign="q4"' in page.text and "test-reader" in page.text
    assert again.status_code == 303  # signed in already


def test_the_cookie_is_secure_when_the_request_came_over_https(api: RunningApi) -> None:
    with api.client() as client:  # uvicorn trusts a loopback proxy's X-Forwarded-Proto
        signed = client.post(
            "/login", data={"key": api.key}, headers={"X-Forwarded-Proto": "https"}
        )
    assert "Secure" in signed.headers["set-cookie"]


def test_a_revoked_keys_cookie_is_refused(api: RunningApi) -> None:
    with sign_in(api, api.read_only_key) as client:
        before = client.get("/")
        ApiKeys(api.runtime.engine, api.runtime.redis).revoke("test-reader")
        page = client.get("/")
        live = client.get("/live")

    assert before.status_code == 200
    assert (page.status_code, page.headers["location"]) == (303, "login")
    assert live.status_code == 401


def test_the_cookie_does_not_authorize_writes(api: RunningApi, tmp_path: Path) -> None:
    start(api.runtime, tmp_path)
    with sign_in(api, api.key) as client:  # a read-write key, held in the cookie only
        paused = client.post("/v1/campaigns/q4/pause")
        sent = client.post("/v1/messages", json={"account": "ann", "to": "jane-doe", "text": "Hi"})
        read = client.get("/v1/campaigns/q4")

    assert paused.status_code == 401 and sent.status_code == 401
    assert read.status_code == 200  # reads are what the cookie is for
    assert api.runtime.campaigns.get("q4").status == "running"  # type: ignore[union-attr]


def test_signing_out_clears_the_cookie(api: RunningApi) -> None:
    with sign_in(api, api.read_only_key) as client:
        out = client.post("/logout")
        page = client.get("/")

    assert (out.status_code, out.headers["location"]) == (303, "login")
    assert f'{COOKIE}=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    assert page.status_code == 303


# What the page shows ----------------------------------------------------------------------


def test_the_page_shows_the_numbers_campaign_status_reports(
    api: RunningApi, tmp_path: Path
) -> None:
    runtime = api.runtime
    rows = [r for r in start(runtime, tmp_path, leads=6) if r.step == 0]
    now = datetime.now(UTC)
    finish(runtime, rows[0], Status.SENT, now)
    finish(runtime, rows[1], Status.SENT, now)
    finish(runtime, rows[2], Status.UNKNOWN, now)
    reply(runtime, rows[0], "Sounds good")

    with sign_in(api, api.read_only_key) as client:
        shown = metrics(client.get("/").text)
    report = json.loads(json.dumps(asdict(campaign_report(runtime, "q4")), default=str))

    at = ("data-campaign=q4",)
    assert shown[(*at, "replied")] == str(report["replied"]) == "1"
    assert shown[(*at, "reply_rate")] == str(report["reply_rate"])
    assert shown[(*at, "sent")] == "2" and shown[(*at, "unknown")] == "1"
    for step, counts in report["steps"].items():
        for status, count in counts.items():
            if status not in {"queued", "waiting"}:
                assert shown[(*at, f"data-step={step}", status)] == str(count)
        pending = counts.get("queued", 0) + counts.get("waiting", 0)
        assert shown[(*at, f"data-step={step}", "pending")] == str(pending)
    for line in report["accounts"]:
        where = (*at, f"data-account={line['account']}")
        assert shown[(*where, "sent_today")] == str(line["sent_today"])
        assert shown[(*where, "contacted")] == str(line["contacted"])
    assert shown[("data-account=ann", "cap_used")] == str(sum(r.account == "ann" for r in rows[:3]))


def test_reply_text_and_names_from_outside_are_escaped(api: RunningApi, tmp_path: Path) -> None:
    runtime = api.runtime
    first = next(r for r in start(runtime, tmp_path) if r.step == 0)
    finish(runtime, first, Status.SENT, datetime.now(UTC))
    reply(runtime, first, f"Hi! {SCRIPT} <img src=x onerror=alert(1)>")

    with sign_in(api, api.read_only_key) as client:
        page = client.get("/").text
        live = client.get("/live").text

    for html in (page, live):
        assert SCRIPT not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html


def test_needs_a_person_shows_the_command_for_each_unknown_send_and_stopped_account(
    api: RunningApi, tmp_path: Path
) -> None:
    runtime = api.runtime
    lost = next(r for r in start(runtime, tmp_path) if r.step == 0)
    finish(runtime, lost, Status.UNKNOWN, datetime.now(UTC))
    later = time.time() + 600
    runtime.due_index.pause("eve", None, "provider refused the account: bad key")
    runtime.due_index.pause("dan", later, "breaker: 3 sends in a row ended in errors")
    runtime.due_index.pause("ann", later, "rate limited: slow down")  # resumes by itself

    with sign_in(api, api.read_only_key) as client:
        page = client.get("/").text

    assert f'data-delivery="{lost.id}"' in page
    assert f"outreach deliveries retry {lost.id}" in page
    assert "outreach accounts resume eve" in page and "outreach accounts resume dan" in page
    assert "outreach accounts resume ann" not in page
    assert 'data-account="ann" data-state="paused"' in page


def test_the_live_fragment_is_the_page_without_its_frame(api: RunningApi) -> None:
    with sign_in(api, api.read_only_key) as client:
        live = client.get("/live")

    assert live.status_code == 200 and 'data-testid="snapshot"' in live.text
    assert "<html" not in live.text and "<script" not in live.text


def test_the_page_runs_only_its_own_files_and_is_never_cached(api: RunningApi) -> None:
    with sign_in(api, api.read_only_key) as client:
        page = client.get("/")
        script = client.get("/static/live.js")
        style = client.get("/static/page.css")
        other = client.get("/static/..%2Froutes.py")

    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert other.status_code == 404


def test_sends_per_hour_counts_send_requests_of_the_last_24_hours(
    api: RunningApi, tmp_path: Path
) -> None:
    runtime = api.runtime
    row = start(runtime, tmp_path)[0]
    since = charts.first_hour(NOW)
    for started, kind in [
        (NOW, "send"),
        (NOW.replace(minute=1), "send"),
        (NOW - timedelta(hours=2), "send"),
        (NOW, "check"),  # an OutX status check is no send
        (since - timedelta(seconds=1), "send"),  # before the chart's first hour
    ]:
        runtime.store.record(
            Attempt(
                delivery_id=row.id or 0, account="ann", kind=kind, started_at=started, outcome="x"
            )
        )

    counts = queries.sends_per_hour(runtime.engine, since)

    assert counts == {
        "ann": {NOW.replace(minute=0): 2, NOW.replace(minute=0) - timedelta(hours=2): 1}
    }


# Pure parts -------------------------------------------------------------------------------


def _summary(**changes: object) -> AccountSummary:
    base: dict[str, object] = {
        "account": "ann", "provider": "linkup", "queued": 0, "in_progress": 0,
        "sent_today": 0, "failed": 0, "unknown": 0, "next_send_at": None,
        "paused_until": None, "paused_forever": False, "pause_reason": None,
    }  # fmt: skip
    return AccountSummary(**{**base, **changes})  # type: ignore[arg-type]


SOON = NOW + timedelta(seconds=40)
WAITING = "3 queued (due, or held by a window or cap)"


@pytest.mark.parametrize(
    ("changes", "state", "detail"),
    [
        ({}, "idle", "nothing queued"),
        ({"queued": 3}, "waiting", WAITING),
        ({"queued": 3, "next_send_at": SOON}, "paced", "next send 09:30:40 UTC"),
        ({"queued": 3, "next_send_at": NOW - timedelta(seconds=1)}, "waiting", WAITING),
        ({"in_progress": 1, "queued": 3}, "sending", "1 in flight"),
        (
            {"in_progress": 1, "paused_until": SOON, "pause_reason": "rate limited: 429"},
            "paused",
            "until 09:30:40 UTC: rate limited: 429",
        ),
        ({"paused_forever": True, "pause_reason": "bad key"}, "paused", "until resumed: bad key"),
    ],
)
def test_an_accounts_state_in_a_word(changes: dict[str, object], state: str, detail: str) -> None:
    assert account_state(_summary(**changes), NOW) == (state, detail)


def test_the_hourly_chart_puts_the_current_hour_last_on_one_scale() -> None:
    hour = NOW.replace(minute=0)
    chart = charts.hourly_chart(
        {"ann": {hour: 4, hour - timedelta(hours=23): 2}, "dan": {hour - timedelta(hours=1): 1}},
        ["ann", "dan", "eve"],
        NOW,
    )

    ann, dan, eve = chart.rows
    assert chart.peak == 4 and chart.since == hour - timedelta(hours=23)
    assert [(b.hour, b.count, b.height) for b in ann.bars] == [
        (hour - timedelta(hours=23), 2, charts.BAR_H / 2),
        (hour, 4, charts.BAR_H),
    ]
    assert ann.bars[0].x < dan.bars[0].x < ann.bars[1].x
    assert dan.bars[0].y + dan.bars[0].height == dan.baseline
    assert (ann.total, dan.total, eve.total, eve.bars) == (6, 1, 0, [])
    assert chart.ticks[-1].label == "09"


def test_the_funnel_is_as_wide_as_each_stage_against_the_largest() -> None:
    drawn = charts.funnel([("step 1 sent", 8), ("step 2 sent", 4), ("replied", 0)])

    widths = [s.width for s in drawn.stages]
    assert widths == [charts.FUNNEL_AREA_W, charts.FUNNEL_AREA_W / 2, 0]
    assert [s.share for s in drawn.stages] == [1.0, 0.5, 0.0]
    assert drawn.stages[1].x == charts.FUNNEL_LABEL_W + charts.FUNNEL_AREA_W / 4
    assert charts.funnel([("step 1 sent", 0)]).stages[0].share is None


# In a browser -----------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = "OUTREACH_SCREENSHOT"  # save the screenshot here (the README's: docs/live-page.png)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if IN_CI:  # CI installs it (.ci/run): a skip there would hide a broken setup
            raise RuntimeError(f"the browser test needs Chromium at {CHROMIUM}")
        pytest.skip(f"the browser test needs Chromium at {CHROMIUM} (Debian: apt install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shown(page: Page) -> dict[tuple[str, ...], str]:
    return metrics(page.locator("#live").inner_html())


def _text(page: Page, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


@pytest.mark.slow
def test_the_live_page_in_chromium_shows_what_campaign_status_reports(
    browser: Browser,
    tmp_path: Path,
    redis_url: str,
    database_url: str,
    sandbox: SandboxClient,
    sandbox_server: Sandbox,
) -> None:
    with page_stack(
        tmp_path, redis_url=redis_url, database_url=database_url, sandbox=sandbox,
        sandbox_url=sandbox_server.url,
    ) as stack:  # fmt: skip
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{stack.url}/?refresh=1")
        assert page.url == f"{stack.url}/login"
        page.get_by_test_id("key").fill(stack.key)
        page.get_by_test_id("sign-in").click()
        page.wait_for_url(f"{stack.url}/")
        page.goto(f"{stack.url}/?refresh=1")  # the refresh the test can wait for
        card = f'[data-testid=campaign][data-campaign="{CAMPAIGN}"]'
        page.locator(card).wait_for()

        # The numbers, against the command run at the same moment (everything has settled).
        shown, report = _shown(page), stack.status()
        at = (f"data-campaign={CAMPAIGN}",)
        totals = {s: sum(c.get(s, 0) for c in report["steps"].values()) for s in STATUSES}
        for status, count in totals.items():
            assert shown[(*at, status)] == str(count), status
            assert _text(page, f'{card} dd[data-metric="{status}"]') == str(count)
        # ann's lost send and dan's answer each stopped a follow-up
        assert (totals["unknown"], totals["cancelled"]) == (1, 2) and totals["sent"] > 0
        for step, counts in report["steps"].items():
            for status in STATUSES:
                assert shown[(*at, f"data-step={step}", status)] == str(counts.get(status, 0))
        assert shown[(*at, "replied")] == str(report["replied"]) == "1"
        assert shown[(*at, "reply_rate")] == str(report["reply_rate"])
        assert _text(page, f'{card} dd[data-metric="reply_rate"]') == f"{report['reply_rate']:.1%}"
        assert report["finish_estimate"] is None
        assert _text(page, f'{card} [data-metric="finish_estimate"]') == "done"
        funnel = page.locator(f"{card} [data-testid=funnel] rect")
        assert funnel.first.get_attribute("data-count") == str(report["replies"][0]["sent"])
        assert funnel.last.get_attribute("data-count") == str(report["replied"])

        # Accounts: state and the daily cap used; the chart's bars add up to the sends.
        since = charts.first_hour(datetime.now(UTC))
        for line in report["accounts"]:
            name = line["account"]
            row = (f"data-account={name}",)
            assert shown[(*row, "cap_used")] == str(line["sent_today"])
            assert shown[(*row, "cap")] == str(stack.cluster.settings.daily_limit)
            assert shown[(*row, "state")] == "idle"
            bars = page.locator(f'[data-testid=hourly-row][data-account="{name}"] rect')
            counted = sum(int(b.get_attribute("data-count") or 0) for b in bars.all())
            assert counted == stack.cluster.runtime.store.sends_since(name, since) > 0

        # What needs a person: the lost send, with the command that resends it.
        [lost] = [d for d in stack.deliveries() if d.status == Status.UNKNOWN]
        item = page.locator(f'[data-testid=unknown-delivery][data-delivery="{lost.id}"]')
        assert item.get_by_test_id("command").inner_text() == f"outreach deliveries retry {lost.id}"

        # The answer is shown as the text it is: nothing in it ran.
        assert ANSWER in _text(page, "[data-testid=reply-text]")
        assert dialogs == []

        # Live: a change made elsewhere shows up without a reload.
        before = page.get_by_test_id("snapshot").get_attribute("data-generated-at")
        stack.outreach("accounts", "pause", "dan", "--reason", "checking the login")
        eve = next(d.recipient for d in stack.deliveries() if d.account == "eve")
        stack.outreach("recipients", "mark-replied", eve, "--campaign", CAMPAIGN)
        paused = page.locator('[data-testid=paused-account][data-account="dan"]')
        paused.wait_for(timeout=10_000)
        assert paused.get_by_test_id("command").inner_text() == "outreach accounts resume dan"
        page.wait_for_function(
            f"""() => document.querySelector('{card} dd[data-metric="replied"]')
                .dataset.value === "2" """,
            timeout=10_000,
        )
        assert page.get_by_test_id("snapshot").get_attribute("data-generated-at") != before
        assert _shown(page)[("data-account=dan", "state")] == "paused"
        assert _shown(page)[(*at, "replied")] == str(stack.status()["replied"]) == "2"

        page.screenshot(
            path=os.environ.get(SCREENSHOT) or tmp_path / "live-page.png", full_page=True
        )
        page.close()
