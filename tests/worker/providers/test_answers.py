"""The outcome table itself: each row builds the outcome it names, the HTTP status rows are
decided before any body is read, and the README's copy of the table is this table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.policy import counts_toward_breaker
from worker.providers.answers import TABLE, Answer, outcome_for, status_row
from worker.providers.outcomes import RateLimited, Rejected, Transient, Unknown

README = Path(__file__).parents[3] / "README.md"
WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("answer", [a for a in Answer if a is not Answer.SUCCESS])
def test_each_row_builds_its_outcome_and_the_breaker_counts_the_rows_marked_so(
    answer: Answer,
) -> None:
    row = TABLE[answer]
    outcome = outcome_for(answer, "why", 418, WHEN)
    expected = {
        "transient": Transient,
        "unknown": Unknown,
        "rate_limited": RateLimited,
        "rejected": Rejected,
        "rejected (account)": Rejected,
        "rejected (unrecognised)": Rejected,
    }[row.outcome]
    assert isinstance(outcome, expected)
    assert (outcome.reason.endswith("why"), outcome.http_status) == (True, 418)
    assert counts_toward_breaker(outcome) == row.breaker
    if isinstance(outcome, Rejected):
        assert outcome.account_level == (row.outcome == "rejected (account)")
    if isinstance(outcome, RateLimited):
        assert outcome.retry_at == WHEN


def test_success_is_built_by_the_adapter_not_the_table() -> None:
    with pytest.raises(ValueError, match="built by the adapter"):
        outcome_for(Answer.SUCCESS, "ok")


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (500, Answer.SERVER_ERROR),
        (502, Answer.SERVER_ERROR),
        (503, Answer.SERVER_ERROR),
        (504, Answer.SERVER_ERROR),
        (599, Answer.SERVER_ERROR),
        (101, Answer.OTHER_STATUS),
        (302, Answer.OTHER_STATUS),
        (303, Answer.OTHER_STATUS),
        (429, Answer.TOO_MANY_REQUESTS),
        (200, None),
        (201, None),
        (400, None),
        (401, None),
        (404, None),
    ],
)
def test_rows_decided_by_the_status_alone(status: int, answer: Answer | None) -> None:
    assert status_row(status) == answer


def test_the_readme_shows_exactly_this_table() -> None:
    readme = README.read_text(encoding="utf-8")
    for answer, row in TABLE.items():
        breaker = "yes" if row.breaker else ""
        line = f"| `{answer.value}` | {row.when} | `{row.outcome}` | {row.then} | {breaker} |"
        assert line in readme, f"README's outcome table differs at row {answer.value}"
