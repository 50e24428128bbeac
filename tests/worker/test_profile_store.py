"""The profile cache: one answer per profile, the first recorded stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.producer import enqueue_message
from worker.models import Status
from worker.runtime import Runtime

JANE = "https://www.linkedin.com/in/jane-doe"
URN = "urn:li:fsd_profile:ACoAABCDEFGhijklmnopqrstu"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime({"eve": "outx"})


def test_an_unknown_profile_has_no_answer(runtime: Runtime) -> None:
    assert runtime.profiles.get(JANE) is None


def test_a_urn_is_remembered_with_when(runtime: Runtime) -> None:
    runtime.profiles.remember(JANE, AT, urn=URN)
    known = runtime.profiles.get(JANE)
    assert known is not None
    assert (known.urn, known.error, known.resolved_at) == (URN, None, AT)


def test_the_first_answer_stays(runtime: Runtime) -> None:
    runtime.profiles.remember(JANE, AT, error="OutX's fetch completed without a profile_urn")
    kept = runtime.profiles.remember(JANE, AT + timedelta(hours=1), urn=URN)
    assert (kept.urn, kept.error) == (None, "OutX's fetch completed without a profile_urn")


def test_forgetting_lets_the_profile_be_fetched_again(runtime: Runtime) -> None:
    runtime.profiles.remember(JANE, AT, urn=URN)
    assert runtime.profiles.forget(JANE)
    assert runtime.profiles.get(JANE) is None
    assert not runtime.profiles.forget(JANE)


def test_an_answer_is_a_urn_or_an_error(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="a URN or an error"):
        runtime.profiles.remember(JANE, AT)
    with pytest.raises(ValueError, match="a URN or an error"):
        runtime.profiles.remember(JANE, AT, urn=URN, error="both")


def test_a_fetch_under_way_is_a_confirming_delivery_to_the_url_without_a_urn(
    runtime: Runtime,
) -> None:
    first = enqueue_message(runtime, account="eve", to=JANE, text="Hi").delivery_id
    second = enqueue_message(runtime, account="eve", to=JANE, text="Hello").delivery_id
    assert runtime.profiles.fetch_under_way(JANE, besides=second) is None
    runtime.store.move(first, [Status.QUEUED], {"status": Status.CONFIRMING, "task_id": "t1"})
    assert runtime.profiles.fetch_under_way(JANE, besides=second) == first
    assert runtime.profiles.fetch_under_way(JANE, besides=first) is None
    runtime.store.move(first, [Status.CONFIRMING], {"recipient_urn": URN})  # a send's task now
    assert runtime.profiles.fetch_under_way(JANE, besides=second) is None
