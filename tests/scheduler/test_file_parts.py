"""A leads file cut in two for a dry run on two cores: the cut falls between rows, the two
parts read back exactly the rows (and line numbers) the whole file gives, and a cut that a
badly quoted file fools is caught rather than trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.file_parts import cut_in_two
from scheduler.leads import Lead, LeadError, Part, PartMisaligned, read_leads

FIELDS = ("first_name", "company")


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "leads.csv"
    path.write_bytes(data)
    return path


def _read(path: Path, part: Part | None = None) -> list[tuple[object, ...]]:
    """Each item as comparable values: a lead's line, recipient and values; an error whole."""
    return [
        (item.line, item.recipient.value, item.values) if isinstance(item, Lead) else item
        for item in read_leads(path, FIELDS, dedupe=False, part=part)
    ]


def _people(count: int, newline: bytes = b"\n") -> bytes:
    return b"".join(
        b"https://www.linkedin.com/in/p-%d,P%d,Co %d%s" % (i, i, i % 7, newline)
        for i in range(count)
    )


MESSY = (
    "\ufefflinkedin_url,first_name,company\n".encode()
    + _people(40)
    + b'https://www.linkedin.com/in/quoted,"Ann","Acme, ""the""\nsecond line"\n'
    + b"\n"
    + b"not a profile,Max,Co\n"
    + b"https://www.linkedin.com/in/p-3,Again,Co\n"
    + b"https://www.linkedin.com/in/short,Ann\n"
    + "https://www.linkedin.com/in/zoë,Zoë,Zürich\n".encode()
    + _people(40)
)


@pytest.mark.parametrize("share", [0.01, 0.3, 0.5, 0.51, 0.52, 0.53, 0.9])
def test_the_two_parts_read_as_the_whole_file(tmp_path: Path, share: float) -> None:
    path = _file(tmp_path, MESSY)

    parts = cut_in_two(path, share)

    assert parts is not None
    first, second = parts
    assert first.stop == second.start
    assert _read(path, first) + _read(path, second) == _read(path)


def test_a_cut_aimed_inside_a_quoted_cell_lands_after_it(tmp_path: Path) -> None:
    path = _file(tmp_path, MESSY)
    inside = MESSY.index(b"second line")

    parts = cut_in_two(path, (inside - MESSY.index(b"\n") - 1) / (len(MESSY) - 1))

    assert parts is not None
    assert parts[0].stop == MESSY.index(b"\n", inside) + 1
    assert _read(path, parts[0]) + _read(path, parts[1]) == _read(path)


def test_line_numbers_hold_across_the_cut_with_windows_line_ends(tmp_path: Path) -> None:
    data = b"linkedin_url,first_name,company\r\n" + _people(100, b"\r\n")
    path = _file(tmp_path, data)

    parts = cut_in_two(path, 0.5)

    assert parts is not None
    second = _read(path, parts[1])
    assert second[0][0] == parts[1].after + 1
    assert [row[0] for row in _read(path, parts[0]) + second] == list(range(2, 102))


@pytest.mark.parametrize(
    "data",
    [
        b"linkedin_url,first_name,company\r" + _people(50, b"\r"),  # old Mac line ends
        b'"linkedin_url,first_name\ncompany"\n' + _people(50),  # a header cell over two lines
        b"linkedin_url,first_name,company\n",  # no rows
        b"linkedin_url,first_name,company\n" + _people(1)[:-1],  # one row, no line end
    ],
)
def test_a_file_that_cannot_be_cut_cleanly_is_not_cut(tmp_path: Path, data: bytes) -> None:
    assert cut_in_two(_file(tmp_path, data), 0.5) is None


def test_a_cut_through_a_quoted_cell_is_caught_by_the_reader(tmp_path: Path) -> None:
    # A stray quote inside an unquoted cell makes the quote count lie: the counted cut lands
    # in the middle of the quoted cell that follows, and reading the first part says so.
    data = (
        b"linkedin_url,first_name,company\n"
        b'https://www.linkedin.com/in/a,Ann,5" screens\n'
        b'https://www.linkedin.com/in/b,Bob,"two\nlines"\n' + _people(5)
    )
    path = _file(tmp_path, data)
    cut = data.index(b"lines")
    first = Part(data.index(b"\n") + 1, cut, 1)

    with pytest.raises(PartMisaligned):
        _read(path, first)


def test_errors_keep_their_lines_in_the_second_part(tmp_path: Path) -> None:
    path = _file(tmp_path, MESSY)
    parts = cut_in_two(path, 0.05)
    assert parts is not None

    errors = [item for item in _read(path, parts[1]) if isinstance(item, LeadError)]

    lines = {error.line for error in errors}
    assert lines == {MESSY.count(b"\n", 0, MESSY.index(b"not a profile")) + 1, 47}
