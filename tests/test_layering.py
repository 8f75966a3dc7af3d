"""The package's floors only look down, and only tasks and registries name a task.

Read from the source (every ``import``/``from`` of an ``enas_tf2`` module, at any depth of a
file), so a lazy import inside a function counts as much as one at the top.
"""

import ast
import pathlib
import re

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "enas_tf2"

# folder -> the top-level packages it must never import.
ABOVE = ("tasks", "training", "export", "api", "cli", "report", "render", "ranking", "runs")
FORBIDDEN = {
    "data": ABOVE + ("search_space",),
    "layers": ABOVE + ("search_space",),
    "controller": ABOVE + ("search_space",),
    "configs": ABOVE + ("search_space",),
    "optim": ABOVE + ("search_space",),
    "cost": ABOVE + ("search_space",),
    "runs": ("tasks", "training", "export", "api", "cli", "report", "search_space"),
    "tasks": ("training", "export", "api", "cli", "report"),
    "search_space": ("training", "export", "api", "cli", "report", "tasks"),
}
# Outside these, no code compares with or spells a task's name: it asks the task instead.
TASK_NAMES = re.compile(r"[\"'](image_classification|language_model)[\"']")
MAY_NAME_TASKS = ("tasks/", "search_space/")   # the task registry; each space declares its task


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _files(folder):
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_floor_imports_nothing_above_it(folder):
    found = []
    for path in _files(folder):
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] == "enas_tf2" and len(parts) > 1 and parts[1] in FORBIDDEN[folder]:
                found.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not found, "\n".join(found)


def test_only_tasks_and_registries_name_a_task():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(PACKAGE))
        if relative.startswith(MAY_NAME_TASKS):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if TASK_NAMES.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_spaces_name_their_task_only_as_a_declaration():
    """In search_space/, a task's name appears only as ``task = "..."`` (the space's declaration)
    or ``task="..."`` (a preset's), never in a comparison."""
    found = []
    for path in _files("search_space"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if TASK_NAMES.search(line) and not re.search(r"\btask\s*=\s*[\"']", line):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
