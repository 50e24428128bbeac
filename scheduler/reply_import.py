"""`outreach replies import FILE.csv`: replies found elsewhere (an OutX sender's inbox, a CRM),
recorded as if read, so their sequences stop and reports count them.

Columns: `recipient` and `received_at` (ISO 8601; UTC when no offset), optionally `campaign`
(else every campaign that has sent them a step) and `text`. All or nothing: one bad row and
nothing is recorded, every problem listed with its line number.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from worker.errors import OutreachError
from worker.lifecycle import Lifecycle
from worker.models import ReplyHow, Status
from worker.recipient_store import NewReply
from worker.recipients import parse_recipient
from worker.runtime import Runtime

REQUIRED = ("recipient", "received_at")


@dataclass(frozen=True)
class Imported:
    recorded: int
    already: int
    cancelled: int


def import_replies(runtime: Runtime, path: Path) -> Imported:
    rows = _read(path)
    now = datetime.now(UTC)
    replies = []
    for recipient, received_at, campaign, text in rows:
        steps = [s for s in runtime.store.steps_of(recipient, campaign) if s.status == Status.SENT]
        last_by_campaign = {}
        for step in sorted(steps, key=lambda s: s.step):
            last_by_campaign[step.campaign] = step
        targets = list(last_by_campaign.values())
        if not targets:
            replies.append(
                NewReply(recipient, received_at, ReplyHow.IMPORT, campaign=campaign, text=text)
            )
        for step in targets:
            replies.append(
                NewReply(
                    recipient,
                    received_at,
                    ReplyHow.IMPORT,
                    account=step.account,
                    campaign=step.campaign,
                    step=step.step,
                    text=text,
                )
            )
    recorded, cancelled = Lifecycle.of(runtime).stop_replied(replies, now)
    return Imported(recorded, len(replies) - recorded, cancelled)


def _read(path: Path) -> list[tuple[str, datetime, str | None, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise OutreachError(
                    f"{path}: the header must name {', '.join(REQUIRED)}"
                    f" (missing: {', '.join(missing)}); nothing was recorded"
                )
            rows: list[tuple[str, datetime, str | None, str]] = []
            problems: list[str] = []
            for line, raw in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
                parsed = _row(row, line, problems)
                if parsed is not None:
                    rows.append(parsed)
    except (OSError, UnicodeDecodeError) as exc:
        raise OutreachError(f"{path}: cannot read it as UTF-8 CSV: {exc}") from None
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise OutreachError(f"{path}: nothing was recorded; fix these:\n{listed}")
    return rows


def _row(
    row: dict[str, str], line: int, problems: list[str]
) -> tuple[str, datetime, str | None, str] | None:
    found = len(problems)
    try:
        recipient = parse_recipient(row["recipient"]).value
    except ValueError as exc:
        problems.append(f"line {line}: recipient: {exc}")
    try:
        received_at = datetime.fromisoformat(row["received_at"])
    except ValueError:
        problems.append(
            f"line {line}: received_at: {row['received_at']!r} is not a date and time;"
            " write e.g. 2026-11-20T14:05:00Z"
        )
    if len(problems) > found:
        return None
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    return recipient, received_at, row.get("campaign") or None, row.get("text", "")
