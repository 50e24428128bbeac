"""The campaign file: who sends, when, and the steps of the sequence.

name = "q4-founders"
accounts = ["alice", "bob"]
daily_limit = 40                 # optional cap per account for this campaign
recontact = false                # optional: contact people this tool already contacted
on_unreadable = "hold"           # optional: a follow-up whose reply check keeps failing
                                 # (past OUTREACH_REPLY_CHECK_MAX_WAIT_SECONDS): "send" or "hold"
[window]                         # optional, in each account's time zone
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-18:00"
[[steps]]
text = "Hi {first_name}…"
[[steps]]
after = "3d"                     # after the previous step was sent
text = "Following up…"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.templates import Template, compile_template
from worker.errors import CampaignFileError, Problem
from worker.windows import SendWindow

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_S = (7 * 86400, 86400, 3600, 60, 1)
_KEYS = {"name", "accounts", "daily_limit", "recontact", "on_unreadable", "window", "steps"}
ON_UNREADABLE = ("hold", "send")


@dataclass(frozen=True)
class Step:
    template: Template
    after_s: float  # after the previous step was sent; 0 for the first


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    accounts: tuple[str, ...]
    steps: tuple[Step, ...]
    daily_limit: int | None = None
    window: SendWindow | None = None
    recontact: bool = False
    on_unreadable: str = "hold"


def parse_duration(text: str) -> float:
    """Seconds in "3d", "12h", "1d12h", "90m", "2w", "45s"; ValueError otherwise."""
    match = _DURATION.match(text.strip()) if text.strip() else None
    if not match:
        raise ValueError(f'{text!r} is not a duration: write e.g. "3d", "12h", "1d12h", "90m"')
    return float(sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_S, strict=True) if n))


def load_campaign(path: Path) -> CampaignSpec:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CampaignFileError(str(path), [Problem("file", str(exc))]) from None
    return parse_campaign(document, where=str(path))


def parse_campaign(document: dict[str, Any], *, where: str = "<campaign>") -> CampaignSpec:
    """Check everything, then raise once with every problem found."""
    problems = [Problem(key, "unknown key") for key in document if key not in _KEYS]
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("name", "required: a non-empty string"))
    accounts = document.get("accounts")
    if not (isinstance(accounts, list) and accounts and all(isinstance(a, str) for a in accounts)):
        problems.append(Problem("accounts", "required: a non-empty list of account names"))
        accounts = []
    limit = document.get("daily_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.append(Problem("daily_limit", "must be a whole number, 1 or more"))
    recontact = document.get("recontact", False)
    if not isinstance(recontact, bool):
        problems.append(Problem("recontact", "must be true or false"))
    on_unreadable = document.get("on_unreadable", "hold")
    if on_unreadable not in ON_UNREADABLE:
        problems.append(Problem("on_unreadable", 'must be "hold" or "send"'))
    window = _window(document.get("window"), problems)
    steps = _steps(document.get("steps"), problems)
    if problems:
        raise CampaignFileError(where, problems)
    assert isinstance(name, str)
    return CampaignSpec(
        name.strip(), tuple(accounts), tuple(steps), limit, window, recontact, on_unreadable
    )


def _window(table: object, problems: list[Problem]) -> SendWindow | None:
    if table is None:
        return None
    if not isinstance(table, dict) or set(table) - {"days", "hours"}:
        problems.append(Problem("window", 'takes only days = [...] and hours = "HH:MM-HH:MM"'))
        return None
    try:
        return SendWindow.parse(table.get("days"), table.get("hours"))
    except ValueError as exc:
        problems.append(Problem("window", str(exc)))
        return None


def _steps(tables: object, problems: list[Problem]) -> list[Step]:
    if not isinstance(tables, list) or not tables:
        problems.append(Problem("steps", "required: at least one [[steps]] with a text"))
        return []
    steps = []
    for i, table in enumerate(tables, start=1):
        where = f"steps[{i}]"
        if not isinstance(table, dict):
            problems.append(Problem(where, "must be a table"))
            continue
        for key in set(table) - {"text", "after"}:
            problems.append(Problem(f"{where}.{key}", "unknown key"))
        text = table.get("text")
        template = None
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(f"{where}.text", "required: the message"))
        else:
            try:
                template = compile_template(text)
            except ValueError as exc:
                problems.append(Problem(f"{where}.text", str(exc)))
        after_s = 0.0
        after = table.get("after")
        if i == 1 and after is not None:
            problems.append(Problem(f"{where}.after", "the first step has no 'after'"))
        elif i > 1:
            try:
                after_s = parse_duration(after) if isinstance(after, str) else -1
            except ValueError as exc:
                problems.append(Problem(f"{where}.after", str(exc)))
            if after_s < 0 or (after_s == 0 and not isinstance(after, str)):
                problems.append(Problem(f"{where}.after", 'required: a duration like "3d"'))
        if template is not None:
            steps.append(Step(template, after_s))
    return steps
