"""A campaign file's `[[steps]]`: when each goes, what it says (one text, or A/B variants with
weights), and what it carries (a subject, InMail, a media link or file). Whether the campaign's
accounts can send each of them is checked against their providers when recipients are
imported (`campaign_import`).

ConnectSafely's conversations/send takes `attachments` "from the upload-attachment endpoint",
which its documentation does not describe: outreach cannot produce them, so a step that asks
for attachments is refused with that reason instead of being sent without them.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.templates import Template, compile_template
from worker.errors import Problem
from worker.providers.connectsafely import ATTACHMENTS_UNDOCUMENTED

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_S = (7 * 86400, 86400, 3600, 60, 1)
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # a file goes base64 in each request body; keep it sane
_STEP_KEYS = {"text", "after", "subject", "inmail", "media_link", "media_file", "variants"}
_VARIANT_KEYS = {"text", "subject", "weight", "name"}


@dataclass(frozen=True)
class StepMedia:
    """A file the step attaches: stored once (`media` table) under its sha256."""

    ref: str
    content_type: str
    data: bytes | None  # None when it is already stored (a campaign read back for add-leads)


@dataclass(frozen=True)
class Variant:
    name: str | None  # None for a step without variants
    template: Template
    subject: Template | None
    weight: float = 1.0


@dataclass(frozen=True)
class Step:
    variants: tuple[Variant, ...]  # one, unnamed, when the step has no [[steps.variants]]
    after_s: float  # after the previous step was sent; 0 for the first
    inmail: bool = False
    media_link: str | None = None
    media: StepMedia | None = None

    @property
    def template(self) -> Template:
        return self.variants[0].template

    @property
    def fields(self) -> list[str]:
        """Every column the step's texts and subjects use."""
        return self._columns(required=False)

    @property
    def required(self) -> list[str]:
        """The columns used without a fallback: an empty cell in one is an error."""
        return self._columns(required=True)

    def _columns(self, *, required: bool) -> list[str]:
        templates = [t for v in self.variants for t in (v.template, v.subject) if t is not None]
        return _unique(f for t in templates for f in (t.required if required else t.fields))

    def pick(self, seed: int) -> Variant:
        """The variant for the recipient whose `seed` this is, by weight."""
        if len(self.variants) == 1:
            return self.variants[0]
        total = sum(v.weight for v in self.variants)
        point = (seed % 1_000_003) / 1_000_003 * total
        for variant in self.variants:
            point -= variant.weight
            if point < 0:
                return variant
        return self.variants[-1]


MediaLoader = Callable[[object], StepMedia]  # ValueError when the file cannot be used


def media_from_files(base: Path) -> MediaLoader:
    """`media_file = "deck.pdf"`: a path, relative to the campaign file, in its folder or
    below. Nothing outside it: over the HTTP API a campaign file comes from a caller, who must
    not attach a file of the server's (its environment, the accounts file) to a message."""
    folder = base.resolve()

    def load(value: object) -> StepMedia:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be the path of a file, relative to the campaign file")
        path = (base / value).resolve()
        if not path.is_relative_to(folder):
            raise ValueError(
                f"{value!r} is outside the campaign file's folder; put the file beside it"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {value!r}: {exc.strerror}") from None
        if not data:
            raise ValueError(f"{value!r} is empty")
        if len(data) > MAX_MEDIA_BYTES:
            raise ValueError(f"{value!r} is {len(data)} bytes; the most is {MAX_MEDIA_BYTES}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return StepMedia(hashlib.sha256(data).hexdigest(), content_type, data)

    return load


def media_as_stored(value: object) -> StepMedia:
    """A campaign read back from the database: `media_file = {ref, content_type}`."""
    if not isinstance(value, dict) or not isinstance(value.get("ref"), str):
        raise ValueError("a stored campaign's media_file must be {ref, content_type}")
    return StepMedia(value["ref"], str(value.get("content_type")), None)


def parse_steps(tables: object, problems: list[Problem], load_media: MediaLoader) -> list[Step]:
    if not isinstance(tables, list) or not tables:
        problems.append(Problem("steps", "required: at least one [[steps]] with a text"))
        return []
    steps = []
    for i, table in enumerate(tables, start=1):
        where = f"steps[{i}]"
        if not isinstance(table, dict):
            problems.append(Problem(where, "must be a table"))
            continue
        before = len(problems)
        step = _step(table, i, where, problems, load_media)
        if step is not None and len(problems) == before:
            steps.append(step)
    return steps


def _step(
    table: dict[str, Any], i: int, where: str, problems: list[Problem], load_media: MediaLoader
) -> Step | None:
    if "attachments" in table:
        problems.append(Problem(f"{where}.attachments", ATTACHMENTS_UNDOCUMENTED))
    for key in sorted(set(table) - _STEP_KEYS - {"attachments"}):
        problems.append(Problem(f"{where}.{key}", "unknown key"))
    subject = _template(table.get("subject"), f"{where}.subject", problems, optional=True)
    variants = _variants(table, where, subject, problems)
    inmail = table.get("inmail", False)
    if not isinstance(inmail, bool):
        problems.append(Problem(f"{where}.inmail", "must be true or false"))
    media_link = table.get("media_link")
    if media_link is not None and not (isinstance(media_link, str) and media_link.strip()):
        problems.append(Problem(f"{where}.media_link", "must be a URL"))
    if media_link is not None and "media_file" in table:
        problems.append(
            Problem(
                f"{where}.media_file",
                "give media_link or media_file, not both: LinkUp would send only the link",
            )
        )
    media = None
    if "media_file" in table:
        try:
            media = load_media(table["media_file"])
        except ValueError as exc:
            problems.append(Problem(f"{where}.media_file", str(exc)))
    after_s = _after(table.get("after"), i, where, problems)
    if not variants:
        return None
    return Step(tuple(variants), after_s, inmail is True, media_link, media)


def _variants(
    table: dict[str, Any], where: str, subject: Template | None, problems: list[Problem]
) -> list[Variant]:
    tables = table.get("variants")
    if tables is None:
        template = _template(table.get("text"), f"{where}.text", problems)
        return [Variant(None, template, subject)] if template is not None else []
    if "text" in table:
        problems.append(Problem(f"{where}.text", "a step with variants takes its texts from them"))
    if not isinstance(tables, list) or len(tables) < 2:
        problems.append(Problem(f"{where}.variants", "give two or more [[steps.variants]]"))
        return []
    variants: list[Variant] = []
    for j, item in enumerate(tables, start=1):
        at = f"{where}.variants[{j}]"
        if not isinstance(item, dict):
            problems.append(Problem(at, "must be a table"))
            continue
        for key in sorted(set(item) - _VARIANT_KEYS):
            problems.append(Problem(f"{at}.{key}", "unknown key"))
        name = item.get("name", chr(ord("A") + j - 1) if j <= 26 else str(j))
        if not isinstance(name, str) or not name.strip() or len(name) > 40:
            problems.append(Problem(f"{at}.name", 'must be a short label, like "A" or "short"'))
            continue
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            problems.append(Problem(f"{at}.weight", "must be a number above 0"))
            continue
        template = _template(item.get("text"), f"{at}.text", problems)
        own = _template(item.get("subject"), f"{at}.subject", problems, optional=True)
        if template is not None:
            variants.append(Variant(name.strip(), template, own or subject, float(weight)))
    names = [v.name for v in variants]
    for name in sorted({n for n in names if names.count(n) > 1 and n is not None}):
        problems.append(Problem(f"{where}.variants", f"two variants are named {name!r}"))
    return variants


def _template(
    value: object, where: str, problems: list[Problem], *, optional: bool = False
) -> Template | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        what = "a non-empty text" if optional else "required: the message"
        problems.append(Problem(where, what))
        return None
    try:
        return compile_template(value)
    except ValueError as exc:
        problems.append(Problem(where, str(exc)))
        return None


def _after(after: object, i: int, where: str, problems: list[Problem]) -> float:
    if i == 1:
        if after is not None:
            problems.append(Problem(f"{where}.after", "the first step has no 'after'"))
        return 0.0
    if not isinstance(after, str):
        problems.append(Problem(f"{where}.after", 'required: a duration like "3d"'))
        return 0.0
    try:
        seconds = parse_duration(after)
    except ValueError as exc:
        problems.append(Problem(f"{where}.after", str(exc)))
        return 0.0
    return seconds


def parse_duration(text: str) -> float:
    """Seconds in "3d", "12h", "1d12h", "90m", "2w", "45s"; ValueError otherwise."""
    match = _DURATION.match(text.strip()) if text.strip() else None
    if not match:
        raise ValueError(f'{text!r} is not a duration: write e.g. "3d", "12h", "1d12h", "90m"')
    return float(sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_S, strict=True) if n))


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
