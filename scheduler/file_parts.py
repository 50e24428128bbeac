"""A leads file cut in two where a line ends, so that two processes can read one part each.

The cut must fall between rows, and a quoted cell may hold a line break. In a well-formed CSV
a line end after an even number of quote characters is outside any quoted cell; a file that
breaks the quoting rules can fool that count, so the reader of the first part proves the cut
(`leads.Part`, `PartMisaligned`) and the caller then reads the file whole. Line numbers count
line feeds, so a file with a lone carriage return (a line end the reader also honours) is not
cut at all.
"""

from __future__ import annotations

from pathlib import Path

from scheduler.leads import Part

_CHUNK = 1 << 20  # read, not mapped: a mapped file would count in this process's memory
_TRIES = 10_000  # line ends to try past the target before giving up on a file


def cut_in_two(path: Path, share: float) -> tuple[Part, Part] | None:
    """The rows before and after a cut about `share` of the way through the rows' bytes; None
    when the file cannot be cut (a lone carriage return, a quoted header cell, too few
    lines). One pass over the file."""
    with path.open("rb") as handle:
        header = handle.readline()
        size = path.stat().st_size
        if not header.endswith(b"\n") or header.count(b'"') % 2 or size <= len(header):
            return None
        target = len(header) + int((size - len(header)) * share)
        handle.seek(0)
        crs = pairs = quotes = lines = position = tries = 0
        cut: tuple[int, int] | None = None  # (offset, lines before it)
        last = b""
        while chunk := handle.read(_CHUNK):
            crs += chunk.count(b"\r")
            pairs += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            if cut is None and position + len(chunk) > target:
                at = max(target - position, 0)
                seen = quotes + chunk.count(b'"', 0, at)
                while tries < _TRIES and (end := chunk.find(b"\n", at)) >= 0:
                    seen += chunk.count(b'"', at, end)
                    if seen % 2 == 0:
                        cut = (position + end + 1, lines + chunk.count(b"\n", 0, end + 1))
                        break
                    at, tries = end + 1, tries + 1
            quotes += chunk.count(b'"')
            lines += chunk.count(b"\n")
            position += len(chunk)
            last = chunk[-1:]
    if cut is None or cut[0] >= size or crs != pairs:
        return None
    return Part(len(header), cut[0], 1), Part(cut[0], None, cut[1])
