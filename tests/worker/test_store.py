"""The delivery store: the one-statement claim and its caps, and the lookups of recipients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scheduler.producer import enqueue_message
from worker.models import Attempt, Status
from worker.runtime import Runtime
from worker.store import DailyCaps


def test_the_claim_refuses_a_send_over_the_daily_cap_in_the_same_statement(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime({"alice": "linkup"})
    now = datetime.now(UTC)
    first = enqueue_message(
        runtime, account="alice", to="https://www.linkedin.com/in/ann-a", text="1"
    )
    second = enqueue_message(
        runtime, account="alice", to="https://www.linkedin.com/in/bob-b", text="2"
    )
    since = now - timedelta(hours=1)
    caps = DailyCaps(account="alice", since=since, cap=1)

    claimed = runtime.store.claim(first.delivery_id, now, caps=caps)
    assert claimed is not None and claimed.status == Status.SENDING and claimed.attempts == 1
    attempt = Attempt(
        delivery_id=first.delivery_id, account="alice", kind="send", started_at=now, outcome="sent"
    )
    runtime.store.move(
        first.delivery_id, [Status.SENDING], {"status": Status.SENT}, attempt=attempt
    )

    assert runtime.store.claim(second.delivery_id, now, caps=caps) is None
    assert runtime.store.get(second.delivery_id).status == Status.QUEUED  # type: ignore[union-attr]
    raised = DailyCaps(account="alice", since=since, cap=2)
    assert runtime.store.claim(second.delivery_id, now, caps=raised) is not None


def test_a_campaign_cap_counts_only_that_campaigns_sends(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime({"alice": "linkup"})
    now = datetime.now(UTC)
    outside = enqueue_message(
        runtime, account="alice", to="https://www.linkedin.com/in/ann-a", text="1"
    )
    inside = enqueue_message(
        runtime,
        account="alice",
        to="https://www.linkedin.com/in/bob-b",
        text="2",
        campaign="spring",
    )
    attempt = Attempt(
        delivery_id=outside.delivery_id,
        account="alice",
        kind="send",
        started_at=now,
        outcome="sent",
    )
    runtime.store.move(
        outside.delivery_id, [Status.QUEUED], {"status": Status.SENT}, attempt=attempt
    )
    since = now - timedelta(hours=1)

    capped = DailyCaps("alice", since, cap=10, campaign="spring", campaign_cap=1)
    assert runtime.store.claim(inside.delivery_id, now, caps=capped) is not None


def test_a_profile_urn_is_the_person_a_send_answer_named_by_it(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime({"alice": "linkup"})
    url = "https://www.linkedin.com/in/ann-a"
    member = "ACoAAB1234567890abcdefghij"
    sent = enqueue_message(runtime, account="alice", to=url, text="1").delivery_id
    runtime.store.move(
        sent,
        [Status.QUEUED],
        {"status": Status.SENT, "recipient_urn": f"urn:li:fsd_profile:{member}"},
    )

    as_urn, as_person = f"urn:li:fsd_profile:{member}", f"urn:li:person:{member}"
    stranger = "urn:li:fsd_profile:ACoAAZ9999999999zzzzzzzzzz"
    assert runtime.store.contacted([url, as_urn, as_person, stranger]) == {url, as_urn, as_person}


def test_recipient_lookups_go_through_their_index_while_an_import_writes(
    make_runtime: Callable[..., Runtime],
) -> None:
    # An import's rows are in the table before they are committed, and the planner's
    # statistics do not count them: a lookup that let it choose scanned them all, once per
    # batch of leads. Each lookup the store sends is explained as it was sent, mid-import.
    runtime = make_runtime({"alice": "linkup"})
    engine = runtime.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no planner statistics to go stale")
    with engine.connect() as admin:
        admin.exec_driver_sql("ANALYZE deliveries")
        admin.commit()
    sent: list[tuple[str, object]] = []

    def keep(_c: object, _k: object, statement: str, parameters: object, *_: object) -> None:
        sent.append((statement, parameters))

    recipients = [f"https://www.linkedin.com/in/look-{i}" for i in range(2000)]
    with engine.connect() as importing:
        importing.exec_driver_sql(
            "INSERT INTO deliveries (idempotency_key, campaign, step, account, provider,"
            " recipient, text, inmail, status, attempts, rate_limits, created_at, due_at,"
            " updated_at) SELECT md5(i::text), 'big', 0, 'alice', 'linkup',"
            " 'https://www.linkedin.com/in/big-' || i, 'hi', false, 'QUEUED', 0, 0, now(),"
            " now(), now() FROM generate_series(1, 60000) i"
        )
        sa.event.listen(engine, "before_cursor_execute", keep)
        try:
            assert runtime.store.contacted(recipients) == set()
            assert runtime.store.in_campaign("big", recipients) == set()
        finally:
            sa.event.remove(engine, "before_cursor_execute", keep)
        lookups = [i for i, (statement, _) in enumerate(sent) if statement.startswith("SELECT")]
        assert len(lookups) == 2
        for before, at in zip([0, *[i + 1 for i in lookups]], lookups, strict=False):
            with engine.begin() as explaining:  # what the lookup's transaction ran, then it
                for statement, parameters in sent[before:at]:
                    explaining.exec_driver_sql(statement, parameters)  # type: ignore[arg-type]
                statement, parameters = sent[at]
                plan = "\n".join(
                    row[0]
                    for row in explaining.exec_driver_sql(f"EXPLAIN {statement}", parameters)  # type: ignore[arg-type]
                )
            assert "ix_deliveries_recipient" in plan, plan
            assert "Seq Scan" not in plan and "ix_deliveries_status" not in plan, plan
            assert "ix_deliveries_campaign_step" not in plan, plan
        importing.rollback()
