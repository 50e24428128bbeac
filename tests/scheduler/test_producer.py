"""The producer API: database first, then the Redis index; idempotent; refuses bad input whole."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from scheduler.producer import Enqueued, Enqueuer, Message, enqueue_message, enqueue_messages
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
        # OutX takes profile URLs (resolved before the send), never a member URN.
        enqueue_message(runtime, account="eve", to="urn:li:member:123456789", text=" ", subject="S")
    assert [p.field for p in caught.value.problems] == ["text", "recipient", "subject"]
    assert runtime.store.find() == []
    assert runtime.redis.zcard(keys.ACCOUNTS) == 0


def test_an_unreadable_recipient_is_a_problem_not_a_crash(runtime: Runtime) -> None:
    with pytest.raises(InvalidMessageError, match="recipient"):
        enqueue_message(runtime, account="ann", to="jane doe", text="Hi")


def test_an_unknown_account_names_the_defined_ones(runtime: Runtime) -> None:
    with pytest.raises(UnknownAccountError, match="ann, dan, eve"):
        enqueue_message(runtime, account="zed", to=JANE, text="Hi")


def _lead(i: int) -> str:
    return f"https://www.linkedin.com/in/lead-number-{i}"


def test_a_batch_is_written_in_order_and_indexed(runtime: Runtime) -> None:
    messages = [Message(account="ann", to=_lead(i), text=f"Hi {i}") for i in range(5)]
    messages.append(Message(account="ann", to=_lead(0), text="Hi 0"))  # the first one again

    results = enqueue_messages(runtime, messages)

    assert [r.created for r in results] == [True] * 5 + [False]
    assert results[5].delivery_id == results[0].delivery_id
    rows = {row.id: row for row in runtime.store.find()}
    assert [rows[r.delivery_id].text for r in results] == [f"Hi {i}" for i in range(5)] + ["Hi 0"]
    assert runtime.redis.zcard(keys.queue("ann")) == 5


def test_a_batch_with_a_bad_message_writes_nothing_and_names_it(runtime: Runtime) -> None:
    messages = [
        Message(account="ann", to=_lead(1), text="Fine"),
        Message(account="ann", to="jane doe", text="Hi"),
        Message(account="ann", to=_lead(3), text=" "),
    ]
    with pytest.raises(InvalidMessageError) as caught:
        enqueue_messages(runtime, messages)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["message 2: recipient", "message 3: text"]
    assert runtime.store.find() == []
    assert runtime.redis.zcard(keys.ACCOUNTS) == 0


def test_an_existing_delivery_is_returned_as_it_stands(runtime: Runtime) -> None:
    first = enqueue_message(runtime, account="ann", to=JANE, text="Hi Jane")
    runtime.store.cancel_pending(recipient=JANE, reason="test")

    again = enqueue_messages(runtime, [Message(account="ann", to=JANE, text="Hi Jane")])

    assert again[0] == Enqueued(first.delivery_id, False, Status.CANCELLED)


def test_concurrent_callers_are_written_together_each_getting_its_own_answer(
    runtime: Runtime,
) -> None:
    inserts: list[str] = []

    def count_inserts(_: object, __: object, statement: str, *___: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            inserts.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count_inserts)
    callers = 40
    answers: dict[int, Enqueued | Exception] = {}
    start = threading.Barrier(callers)

    with Enqueuer(runtime) as enqueuer:

        def call(i: int) -> None:
            start.wait()
            to = "not a profile" if i == 7 else _lead(i)
            try:
                answers[i] = enqueuer.enqueue(Message(account="dan", to=to, text=f"Hi {i}"))
            except InvalidMessageError as exc:
                answers[i] = exc

        threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert isinstance(answers.pop(7), InvalidMessageError)  # only its own caller hears of it
    rows = {row.id: row for row in runtime.store.find()}
    assert len(rows) == callers - 1
    for i, answer in answers.items():
        assert isinstance(answer, Enqueued) and rows[answer.delivery_id].text == f"Hi {i}"
    assert len(inserts) < callers / 2  # grouped: far fewer inserts than callers
