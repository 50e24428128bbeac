"""The recipients CSV, read as a stream: one `Lead` per good row, one `LeadError` per problem,
each with its line and column, so a whole file's mistakes can be reported at once.

A header is required, with one of `linkedin_url`, `profile_urn`, `profile_id` (each column
takes only that form of recipient), plus every column the templates use. Rows stream through;
memory holds only the recipients seen so far (for duplicates, compared in canonical form).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from worker.recipients import Recipient, RecipientKind, parse_recipient

# A column says what it holds, so "none" in `linkedin_url` is a mistake, not a public id.
RECIPIENT_COLUMNS: dict[str, RecipientKind] = {
    "linkedin_url": "profile_url",
    "profile_urn": "urn",
    "profile_id": "public_id",
}


@dataclass(frozen=True)
class Lead:
    line: int
    recipient: Recipient
    values: dict[str, str]


@dataclass(frozen=True)
class LeadError:
    line: int
    column: str | None
    message: str

    def describe(self, path: str) -> str:
        column = f", column {self.column}" if self.column else ""
        return f"{path}: line {self.line}{column}: {self.message}"


def read_leads(path: Path, fields: Iterable[str]) -> Iterator[Lead | LeadError]:
    """Every row of `path` as a Lead or a LeadError; `fields` are the template variables."""
    decode_errors: dict[int, str] = {}
    with path.open("rb") as raw:
        lines = _decoded(raw, decode_errors)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None:
            yield LeadError(1, None, "the file is empty; it needs a header row")
            return
        problem = _header_problem(header, fields)
        if problem is not None:
            yield problem
            return
        recipient_column = next(c for c in RECIPIENT_COLUMNS if c in header)
        seen: dict[str, int] = {}
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            if start in decode_errors:
                yield LeadError(start, None, decode_errors[start])
            elif any(cell.strip() for cell in row):
                yield _lead(start, header, row, column=recipient_column, fields=fields, seen=seen)


def _decoded(raw: Iterable[bytes], errors: dict[int, str]) -> Iterator[str]:
    """Lines as text; a line that is not UTF-8 is noted against its number and blanked."""
    for number, data in enumerate(raw, start=1):
        try:
            text = data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            errors[number] = f"not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8"
            text = "\n"
        yield text


def _header_problem(header: list[str], fields: Iterable[str]) -> LeadError | None:
    if not any(c in header for c in RECIPIENT_COLUMNS):
        return LeadError(1, None, f"the header needs one of {', '.join(RECIPIENT_COLUMNS)}")
    present = sum(c in header for c in RECIPIENT_COLUMNS)
    if present > 1:
        return LeadError(1, None, f"use only one of {', '.join(RECIPIENT_COLUMNS)}")
    missing = [f for f in fields if f not in header]
    if missing:
        return LeadError(
            1, None, f"the templates use columns the header lacks: {', '.join(missing)}"
        )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        return LeadError(1, None, f"duplicate columns: {', '.join(duplicated)}")
    return None


def _lead(
    line: int,
    header: list[str],
    row: list[str],
    *,
    column: str,
    fields: Iterable[str],
    seen: dict[str, int],
) -> Lead | LeadError:
    if len(row) != len(header):
        return LeadError(line, None, f"{len(row)} cells where the header has {len(header)}")
    values = dict(zip(header, (cell.strip() for cell in row), strict=True))
    for name in fields:
        if not values[name]:
            return LeadError(line, name, "empty, but a template uses it")
    try:
        recipient = parse_recipient(values[column], expect=RECIPIENT_COLUMNS[column])
    except ValueError as exc:
        return LeadError(line, column, str(exc))
    first = seen.setdefault(recipient.value, line)
    if first != line:
        return LeadError(line, column, f"the same recipient as line {first}")
    return Lead(line, recipient, values)
