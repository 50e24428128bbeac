"""The recipients CSV, read as a stream: one `Lead` per good row, one `LeadError` per problem,
each with its line and column, so a whole file's mistakes can be reported at once.

A header is required, with one of `linkedin_url`, `profile_urn`, `profile_id` (each column
takes only that form of recipient), plus every column the templates use; the campaign's
`[columns]` may give any of them another header ("First Name"). The delimiter is the header's
most frequent of `,` `;` and tab; UTF-8 with or without a BOM is read, anything else is named.
Rows stream through; memory holds only the recipients seen so far (for duplicates, compared
in canonical form).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from worker.recipients import Recipient, RecipientKind, parse_recipient

# A column says what it holds, so "none" in `linkedin_url` is a mistake, not a public id.
RECIPIENT_COLUMNS: dict[str, RecipientKind] = {
    "linkedin_url": "profile_url",
    "profile_urn": "urn",
    "profile_id": "public_id",
}


DELIMITERS = (",", ";", "\t")
MARK = "\ufdd0"  # a Unicode noncharacter: put after a part, it must come back as a row alone


class Lead(NamedTuple):  # a tuple: a million are made per import
    line: int
    recipient: Recipient
    values: dict[str, str]  # by field name (mapped columns under their field's name)
    cells: list[str]  # the row as written


class Part(NamedTuple):
    """A stretch of a leads file's rows, cut where a line ends: the bytes from `start` to
    `stop` (to the end when None), whose first line follows line number `after`."""

    start: int
    stop: int | None
    after: int


class PartMisaligned(Exception):
    """A part's cut is not proven to fall between rows (a quoted cell spans it, it is not at
    a line end, or the file itself holds the mark)."""


class LeadError(NamedTuple):
    line: int
    column: str | None
    message: str
    cells: list[str] = []  # noqa: RUF012 (never changed)
    duplicate_of: int | None = None  # the earlier line with the same recipient

    def describe(self, path: str) -> str:
        column = f", column {self.column}" if self.column else ""
        return f"{path}: line {self.line}{column}: {self.message}"


def read_leads(
    path: Path,
    fields: Iterable[str],
    *,
    required: Iterable[str] | None = None,
    columns: Mapping[str, str] | None = None,
    dedupe: bool = True,
    part: Part | None = None,
) -> Iterator[Lead | LeadError]:
    """Every row of `path` as a Lead or a LeadError. `fields` are the template variables, of
    which `required` (all, by default) must not be empty; `columns` maps a field to the header
    that holds it. Without `dedupe` the caller finds repeated recipients (`SeenRecipients`
    does, in flat memory); with it, they are remembered here. Given a `part` of a UTF-8 file
    (see `scheduler.file_parts`), only its rows are read, after the header; PartMisaligned is
    raised where the cut proves not to fall between rows."""
    fields = list(fields)
    must = fields if required is None else list(required)
    decode_errors: dict[int, str] = {}
    with path.open("rb") as raw:
        first = raw.readline()
        raw.seek(0)
        encoding = _encoding_problem(first)
        if encoding is not None:
            yield LeadError(1, None, encoding)
            return
        if _all_utf8(raw):  # the usual file: decoded in C, in one go
            raw.seek(0)
            lines: Iterator[str] = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        else:
            raw.seek(0)
            lines = _decoded(raw, decode_errors)
        reader = csv.reader(lines, delimiter=sniff_delimiter(first))
        written = next(reader, None)
        if written is None:
            yield LeadError(1, None, "the file is empty; it needs a header row")
            return
        if 1 in decode_errors:
            yield LeadError(1, None, f"the header: {decode_errors[1]}")
            return
        header, problem = _mapped_header(written, fields, columns or {})
        if problem is not None:
            yield problem
            return
        recipient_column = next(c for c in RECIPIENT_COLUMNS if c in header)
        used = {recipient_column, *fields}
        index = {name: header.index(name) for name in used}
        seen: dict[str, int] | None = {} if dedupe else None
        rows: Iterator[list[str]] = reader
        offset = 0  # lines before the reader's first
        if part is not None:
            if reader.line_num != 1 or not isinstance(lines, io.TextIOWrapper):
                raise PartMisaligned("the header spans lines, or the file is not all UTF-8")
            lines.detach()  # (without closing the file)
            reader, rows = _part_rows(raw, part, reader.dialect.delimiter)
            offset = part.after
        line = offset + reader.line_num
        width = len(header)
        for row in rows:
            start, line = line + 1, offset + reader.line_num
            if start in decode_errors:
                yield LeadError(start, None, decode_errors[start], row)
            elif row and (row[0].strip() or any(cell.strip() for cell in row)):
                if len(row) != width:
                    message = f"{len(row)} cells where the header has {width}"
                    yield LeadError(start, None, message, row)
                    continue
                values = {name: row[i].strip() for name, i in index.items()}
                yield _lead(start, values, row, column=recipient_column, required=must, seen=seen)


def _part_rows(
    raw: io.BufferedReader, part: Part, delimiter: str
) -> tuple[Any, Iterator[list[str]]]:
    """A reader over a part's bytes and its rows. A part starts and stops where a line ends;
    one that stops short of the end is followed by the mark, whose coming back as the last
    row, alone, proves that its last line did not end inside a quoted cell."""
    for end in (part.start, part.stop):
        if end is not None:
            raw.seek(end - 1)
            if raw.read(1) != b"\n":
                raise PartMisaligned(f"byte {end} does not follow a line end")
    raw.seek(part.start)
    if part.stop is None:
        reader = csv.reader(io.TextIOWrapper(raw, "utf-8", newline=""), delimiter=delimiter)
        return reader, reader
    bounded = io.BufferedReader(_Bounded(raw, part.stop - part.start))
    text = io.TextIOWrapper(bounded, "utf-8", newline="")
    reader = csv.reader(itertools.chain(text, [MARK + "\n"]), delimiter=delimiter)
    return reader, _up_to_mark(reader)


def _up_to_mark(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for row in rows:
        if row and MARK in row[-1]:
            if row == [MARK] and next(rows, None) is None:  # the mark, last (not a row of it)
                return
            break  # swallowed into a quoted cell that the cut went through, or in the file
        yield row
    raise PartMisaligned("a quoted cell spans the cut, or the file holds the mark")


class _Bounded(io.RawIOBase):
    """The next `size` bytes of a file, then its end."""

    def __init__(self, raw: io.BufferedReader, size: int):
        self._raw, self._left = raw, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(memoryview(buffer)[: self._left])
        self._left -= count
        return count


def leads_header(path: Path) -> list[str]:
    """The header row as written (for a file of refused rows in the same shape)."""
    with path.open("rb") as raw:
        first = raw.readline()
    text = first.decode("utf-8-sig", errors="replace")
    return next(csv.reader([text], delimiter=sniff_delimiter(first)), [])


def sniff_delimiter(first_line: bytes) -> str:
    """The header's most frequent delimiter (a comma when it has none)."""
    counts = [(first_line.count(d.encode()), d) for d in DELIMITERS]
    best, delimiter = max(counts, key=lambda c: c[0])
    return delimiter if best else ","


def _encoding_problem(first_line: bytes) -> str | None:
    if first_line.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first_line:
        return "line 1 is UTF-16 text, not UTF-8; save the file as UTF-8 (Excel: CSV UTF-8)"
    return None


def _all_utf8(raw: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decoded(raw: Iterable[bytes], errors: dict[int, str]) -> Iterator[str]:
    """Lines as text; a line that is not UTF-8 is noted against its number (and read with
    replacement characters, so the rejects file can still show it)."""
    for number, data in enumerate(raw, start=1):
        encoding = "utf-8-sig" if number == 1 else "utf-8"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            errors[number] = (
                f"not UTF-8 text (byte {exc.start + 1} of the line); save the file as UTF-8"
                " (Excel: CSV UTF-8)"
            )
            text = data.decode(encoding, errors="replace")
        yield text


def _mapped_header(
    written: list[str], fields: list[str], columns: Mapping[str, str]
) -> tuple[list[str], LeadError | None]:
    """The header with mapped columns renamed to their fields, or what is wrong with it."""
    cells = [c.strip() for c in written]
    missing = [f"{name} = {header!r}" for name, header in columns.items() if header not in cells]
    if missing:
        shown = ", ".join(repr(c) for c in cells)
        return cells, LeadError(
            1,
            None,
            f"[columns] maps {'; '.join(missing)}, but the header has no such column"
            f" (it has {shown})",
        )
    rename = {header: name for name, header in columns.items()}
    header = [rename.get(c, c) for c in cells]
    present = [c for c in RECIPIENT_COLUMNS if c in header]
    if not present:
        hint = ' (or map one in [columns], e.g. linkedin_url = "Profile URL")'
        return header, LeadError(
            1, None, f"the header needs one of {', '.join(RECIPIENT_COLUMNS)}{hint}"
        )
    if len(present) > 1:
        return header, LeadError(1, None, f"use only one of {', '.join(RECIPIENT_COLUMNS)}")
    lacking = [f for f in fields if f not in header]
    if lacking:
        example = lacking[0]
        return header, LeadError(
            1,
            None,
            f"the templates use columns the header lacks: {', '.join(lacking)} (add them, or"
            f' map them in the campaign file: [columns] {example} = "<its header>")',
        )
    used = {present[0], *fields}
    duplicated = sorted({c for c in header if c in used and header.count(c) > 1})
    if duplicated:
        return header, LeadError(1, None, f"duplicate columns: {', '.join(duplicated)}")
    return header, None


def _lead(
    line: int,
    values: dict[str, str],
    cells: list[str],
    *,
    column: str,
    required: Iterable[str],
    seen: dict[str, int] | None,
) -> Lead | LeadError:
    for name in required:
        if not values[name]:
            message = f"empty, but a template uses it (or give a fallback: {{{name}|…}})"
            return LeadError(line, name, message, cells)
    try:
        recipient = parse_recipient(values[column], expect=RECIPIENT_COLUMNS[column])
    except ValueError as exc:
        return LeadError(line, column, str(exc), cells)
    first = line if seen is None else seen.setdefault(recipient.value, line)
    if first != line:
        return LeadError(line, column, f"the same recipient as line {first}", cells, first)
    return Lead(line, recipient, values, cells)
