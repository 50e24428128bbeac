"""What a demo run came to: the records it left and whether they are what the sample campaign
must end as. The demo builds it, the view prints it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from scheduler.campaigns import Plan
from worker.models import TERMINAL, Delivery, ReplyRecord

# What the sample campaign must end as: 9 valid leads x 2 steps; carol's first OutX task
# fails, so that lead's follow-up is cancelled; one recipient answers after step 1, so theirs
# is cancelled too, and that one reply is recorded.
EXPECTED = {"sent": 15, "failed": 1, "cancelled": 2}
EXPECTED_REPLIES = 1


@dataclass(frozen=True)
class DemoRun:
    home: Path
    rejected: list[str]
    plan: Plan
    rows: list[Delivery]
    messages_received: int
    violations: int
    replies: list[ReplyRecord]

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.status.value for r in self.rows).items()))

    @property
    def ok(self) -> bool:
        return (
            all(r.status in TERMINAL for r in self.rows)
            and self.counts == EXPECTED
            and len(self.replies) == EXPECTED_REPLIES
        )
