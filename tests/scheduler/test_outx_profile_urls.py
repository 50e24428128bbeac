"""OutX senders given profile URLs, through the CLI, with real worker and scheduler processes:
each profile is fetched once (Fetch Profile), then the message goes to the URN it gave, paced
like any OutX action; a later campaign to the same people makes no fetch; a profile that is not
there fails its delivery with the reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.cluster import Cluster, gaps_by_sender
from tests.scheduler.conftest import MakeCluster
from worker.dev.sandbox import people
from worker.dev.sandbox.control import SandboxClient, sender_of
from worker.models import Status

pytestmark = pytest.mark.slow  # worker and scheduler processes
PACE_MIN_S = 0.3
KNOWN = ["ada-quill", "bo-tamsin", "cy-fennimore"]
MISSING = "no-such-person"
UNRESOLVED = "profile could not be resolved: OutX's fetch completed without a profile_urn"


def _start(cluster: Cluster, tmp_path: Path, name: str) -> None:
    campaign = tmp_path / f"{name}.toml"
    campaign.write_text(
        f'name = "{name}"\naccounts = ["eve"]\nrecontact = true\n'
        '[[steps]]\ntext = "Hi {first_name}."\n',
        encoding="utf-8",
    )
    leads = tmp_path / f"{name}.csv"
    slugs = [*KNOWN, MISSING]
    leads.write_text(
        "linkedin_url,first_name\n"
        + "".join(f"https://www.linkedin.com/in/{slug},P{i}\n" for i, slug in enumerate(slugs)),
        encoding="utf-8",
    )
    started = cluster.run("campaign", "start", str(campaign), str(leads))
    assert started.returncode == 0, started.stderr


def _person_urn(slug: str) -> str:
    return f"urn:li:person:{people.recipient(slug).member_id}"


def test_profile_urls_are_fetched_once_then_sent_to_their_urn_paced_like_sends(
    make_cluster: MakeCluster, sandbox: SandboxClient, tmp_path: Path
) -> None:
    cluster = make_cluster(
        {"eve": "outx"}, pace_min_seconds=PACE_MIN_S, pace_max_seconds=PACE_MIN_S + 0.1
    )
    sandbox.configure(min_gap_s=PACE_MIN_S, outx_complete_after_s=0.2)
    # Whether a profile exists and how OutX then answers, the docs do not say: a named rule.
    sandbox.add_fault(
        "outx_task", path="/linkedin-agent/fetch-profile", result="fail",
        profile_slug=MISSING, count=None,
    )  # fmt: skip
    sender = sender_of(cluster.runtime.accounts["eve"])
    _start(cluster, tmp_path, "first")
    cluster.start_workers(1)
    cluster.start_schedulers(1)

    rows = cluster.wait_until_settled(len(KNOWN) + 1, timeout_s=60)

    by_slug = {r.recipient.rsplit("/", 1)[-1]: r for r in rows}
    assert {s: by_slug[s].status for s in KNOWN} == dict.fromkeys(KNOWN, Status.SENT)
    assert (by_slug[MISSING].status, by_slug[MISSING].error) == (Status.FAILED, UNRESOLVED)
    fetches = sandbox.profile_fetches()
    assert sorted(f["profile_slug"] for f in fetches) == sorted([*KNOWN, MISSING])
    messages = sandbox.messages()
    assert sorted(m["recipient"] for m in messages) == sorted(map(_person_urn, KNOWN))
    fetched_at = {f["profile_slug"]: f["at"] for f in fetches}
    sent_at = {m["recipient"]: m["received_at"] for m in messages}
    for slug in KNOWN:  # the fetch, then the send, at least a pacing gap apart
        assert sent_at[_person_urn(slug)] - fetched_at[slug] >= PACE_MIN_S
    requests = sandbox.requests()
    assert Counter(r["path"] for r in requests) == {
        "/linkedin-agent/fetch-profile": len(KNOWN) + 1,
        "/linkedin-agent/send-message": len(KNOWN),
    }
    assert min(gaps_by_sender(requests)[sender]) >= PACE_MIN_S
    assert sandbox.violations() == []
    shown = cluster.run("deliveries", "show", str(by_slug[KNOWN[0]].id))
    assert shown.returncode == 0, shown.stderr
    assert "resolve" in shown.stdout and "recipient_urn" in shown.stdout

    # A second campaign to the same people: the cache answers, no fetch is made.
    _start(cluster, tmp_path, "second")
    rows = cluster.wait_until_settled(2 * (len(KNOWN) + 1), timeout_s=60)

    second = {r.recipient.rsplit("/", 1)[-1]: r for r in rows if r.campaign == "second"}
    assert {s: second[s].status for s in KNOWN} == dict.fromkeys(KNOWN, Status.SENT)
    assert (second[MISSING].status, second[MISSING].error) == (Status.FAILED, UNRESOLVED)
    assert len(sandbox.profile_fetches()) == len(KNOWN) + 1
    assert Counter(m["recipient"] for m in sandbox.messages()) == {
        _person_urn(slug): 2 for slug in KNOWN
    }
    assert min(gaps_by_sender(sandbox.requests())[sender]) >= PACE_MIN_S
    assert sandbox.violations() == []
