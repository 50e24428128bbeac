"""The file of refused rows (`--skip-invalid`): each row as it was written, after its line number
and the reason, so it can be fixed and imported again with `campaign add-leads`."""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import IO


class RejectsFile:
    """Written as rows are refused. Always created, header first, so that the path printed
    never shows an earlier run's rows."""

    def __init__(self, path: Path, header: list[str]):
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(["line", "reason", *header])

    def add(self, line: int, reason: str, cells: list[str]) -> None:
        self._csv.writerow([line, reason, *cells])
        self.count += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def default_rejects_path(leads_file: Path) -> Path:
    """REJECTS.csv beside the leads file."""
    return leads_file.parent / "REJECTS.csv"
