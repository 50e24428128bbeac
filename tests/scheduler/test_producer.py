"""The producer API: database first, then the Redis index; idempotent; refuses bad input whole."""

from __future__ import annotations

import pytest

from scheduler.producer import enqueue_message
from worker import keys
from worker.errors import InvalidMessageError, UnknownAccountError
from worker.models import Status
from worker.runtime import Runtime

JANE = "https://www.linkedin.com/in/jane-doe"


def test_a_message_is_recorded_then_queued(runtime: Runtime) -> None:
    result = enqueue_message(runtime, account="ann", to=JANE, text="Hi Jane")

    assert (result.created, result.status) == (True, Status.QUEUED)
    row = runtime.store.get(result.delivery_id)
    assert row is not None
    assert (row.account, row.provider, row.recipient, row.text) == (
        "ann",
        "linkup",
        JANE,
        "Hi Jane",
    )
    assert runtime.redis.zscore(keys.queue("ann"), str(result.delivery_id)) is not None


def test_the_same_message_twice_is_one_delivery(runtime: Runtime) -> None:
    first = enqueue_message(runtime, account="ann", to=JANE, text="Hi Jane")
    second = enqueue_message(runtime, account="ann", to=JANE + "/", text="Hi Jane")
    assert second.delivery_id == first.delivery_id
    assert second.created is False
    assert len(runtime.store.find()) == 1


def test_a_caller_supplied_key_decides_identity(runtime: Runtime) -> None:
    a = enqueue_message(runtime, account="ann", to=JANE, text="One", idempotency_key="order-1")
    b = enqueue_message(runtime, account="ann", to=JANE, text="Two", idempotency_key="order-1")
    assert (a.delivery_id, b.created) == (b.delivery_id, False)


def test_bad_input_lists_every_problem_and_writes_nothing(runtime: Runtime) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        enqueue_message(runtime, account="eve", to=JANE, text=" ", subject="S")
    assert [p.field for p in caught.value.problems] == ["text", "recipient", "subject"]
    assert runtime.store.find() == []
    assert runtime.redis.zcard(keys.ACCOUNTS) == 0


def test_an_unreadable_recipient_is_a_problem_not_a_crash(runtime: Runtime) -> None:
    with pytest.raises(InvalidMessageError, match="recipient"):
        enqueue_message(runtime, account="ann", to="jane doe", text="Hi")


def test_an_unknown_account_names_the_defined_ones(runtime: Runtime) -> None:
    with pytest.raises(UnknownAccountError, match="ann, dan, eve"):
        enqueue_message(runtime, account="zed", to=JANE, text="Hi")
