"""The campaign file: who sends, when, and the steps of the sequence.

name = "q4-founders"
accounts = ["alice", "bob"]
daily_limit = 40                 # optional cap per account for this campaign
recontact = false                # optional: contact people this tool already contacted
on_unreadable = "hold"           # optional: a follow-up whose reply check keeps failing
                                 # (past OUTREACH_REPLY_CHECK_MAX_WAIT_SECONDS): "send" or "hold"
[columns]                        # optional: template field (or recipient column) = CSV header
first_name = "First Name"
linkedin_url = "Profile"
[window]                         # optional, in each account's time zone
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-18:00"
[[steps]]
text = "[[Hi|Hello]] {first_name|there}…"   # {field|fallback}, [[spin|tax]]
media_link = "https://example.com/deck.pdf"  # optional (LinkUp); or media_file = "deck.pdf"
[[steps]]
after = "3d"                     # after the previous step was sent
subject = "About {company}"      # optional (ConnectSafely); inmail = true sends an InMail
[[steps.variants]]               # optional A/B variants, each recipient gets one
text = "Following up…"
weight = 2
[[steps.variants]]
text = "Any thoughts?"
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scheduler.campaign_steps import (
    MediaLoader,
    Step,
    media_as_stored,
    media_from_files,
    parse_duration,
    parse_steps,
)
from worker.errors import CampaignFileError, Problem
from worker.windows import SendWindow

_KEYS = {
    "name", "accounts", "daily_limit", "recontact", "on_unreadable", "window", "steps", "columns"
}  # fmt: skip
ON_UNREADABLE = ("hold", "send")

__all__ = ["CampaignSpec", "Step", "load_campaign", "parse_campaign", "parse_duration"]


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    accounts: tuple[str, ...]
    steps: tuple[Step, ...]
    daily_limit: int | None = None
    window: SendWindow | None = None
    recontact: bool = False
    on_unreadable: str = "hold"
    columns: dict[str, str] = field(default_factory=dict)  # field -> the CSV header holding it
    # The file as parsed, its media files replaced by their stored references: what the
    # campaigns table keeps, so `add-leads` renders new recipients exactly as the first ones.
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    def stored_document(self) -> str:
        return json.dumps(self.document, sort_keys=True)


def load_campaign(path: Path) -> CampaignSpec:
    """A campaign file: TOML, or JSON with the same keys when its name ends in `.json`."""
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise CampaignFileError(str(path), [Problem("file", str(exc))]) from None
    if not isinstance(document, dict):
        raise CampaignFileError(str(path), [Problem("file", "must be an object of keys")])
    return parse_campaign(document, where=str(path), load_media=media_from_files(path.parent))


def stored_campaign(text: str, name: str) -> CampaignSpec:
    """A campaign as `stored_document` kept it."""
    return parse_campaign(json.loads(text), where=f"campaign {name!r}", load_media=media_as_stored)


def parse_campaign(
    document: dict[str, Any],
    *,
    where: str = "<campaign>",
    load_media: MediaLoader = media_as_stored,
) -> CampaignSpec:
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
    columns = _columns(document.get("columns"), problems)
    window = _window(document.get("window"), problems)
    steps = parse_steps(document.get("steps"), problems, load_media)
    if problems:
        raise CampaignFileError(where, problems)
    assert isinstance(name, str)
    return CampaignSpec(
        name.strip(), tuple(accounts), tuple(steps), limit, window, recontact, on_unreadable,
        columns, _as_stored(document, steps),
    )  # fmt: skip


def _columns(table: object, problems: list[Problem]) -> dict[str, str]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        problems.append(Problem("columns", 'must be a table: first_name = "First Name"'))
        return {}
    columns: dict[str, str] = {}
    for name, header in table.items():
        if not name.isidentifier():
            problems.append(Problem(f"columns.{name}", "must be a field name like first_name"))
        elif not isinstance(header, str) or not header.strip():
            problems.append(Problem(f"columns.{name}", "must name a column of the CSV header"))
        else:
            columns[name] = header.strip()
    headers = list(columns.values())
    for header in sorted({h for h in headers if headers.count(h) > 1}):
        problems.append(Problem("columns", f"two fields map to the same column {header!r}"))
    return columns


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


def _as_stored(document: dict[str, Any], steps: list[Step]) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(json.dumps(document, default=str))
    for table, step in zip(stored.get("steps", []), steps, strict=False):
        if step.media is not None:
            table["media_file"] = {"ref": step.media.ref, "content_type": step.media.content_type}
    return stored
