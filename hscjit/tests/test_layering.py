"""The apps depend one way, sessions -> manuals -> products, and tasks adapt services: no
product module imports a tasks module, or an app above its own, at load time or inside a
function. Services start a task by its name, which must be a registered task. The apps use
one cache module, hscjit.cache."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from hscjit.background import registered_task

# Lowest first: an app may import the apps before it, never those after it.
LAYERS = ["products", "manuals", "sessions"]
APPS = Path(settings.BASE_DIR) / "apps"
TASK_NAME = re.compile(r"apps\.\w+\.tasks\.\w+")


def product_modules() -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module of the apps, tests and migrations left out; a
    package's `__init__` keeps its name, so that its relative imports resolve."""
    for path in sorted(APPS.rglob("*.py")):
        parts = path.relative_to(APPS.parent).with_suffix("").parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield ".".join(parts), path


def imported_names(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, name) of every import anywhere in `source`; `from a import b` yields `a` and
    `a.b`, since b may be a module."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def layer_of(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == "apps" and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return None


def is_tasks_module(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 3 and parts[0] == "apps" and parts[2] == "tasks"


def violations(module: str, source: str) -> list[str]:
    own = layer_of(module)
    found = []
    for line, name in sorted(imported_names(source, module)):
        other = layer_of(name)
        if own is not None and other is not None and other > own:
            found.append(f"{module}:{line} imports {name}, an app above its own")
        if is_tasks_module(name) and not is_tasks_module(module):
            found.append(f"{module}:{line} imports {name}: start a task by name (enqueue)")
    return found


def test_the_walk_sees_an_import_inside_a_function_and_a_relative_one() -> None:
    source = (
        "def f():\n    from apps.sessions.services import x\n"
        "from ..tasks import prefetch_manual\n"
        "from apps.manuals import tasks\n"
    )
    assert violations("apps.manuals.services.queueing", source) == [
        "apps.manuals.services.queueing:2 imports apps.sessions.services, an app above its own",
        "apps.manuals.services.queueing:2 imports apps.sessions.services.x, an app above its own",
        "apps.manuals.services.queueing:3 imports apps.manuals.tasks: start a task by name "
        "(enqueue)",
        "apps.manuals.services.queueing:3 imports apps.manuals.tasks.prefetch_manual: start a "
        "task by name (enqueue)",
        "apps.manuals.services.queueing:4 imports apps.manuals.tasks: start a task by name "
        "(enqueue)",
    ]


def test_no_app_imports_an_app_above_it_and_only_tasks_import_tasks() -> None:
    found = [
        problem
        for module, path in product_modules()
        for problem in violations(module, path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_apps_reach_the_cache_only_through_hscjit_cache() -> None:
    found = [
        f"{module}:{line} imports {name}"
        for module, path in product_modules()
        for line, name in imported_names(path.read_text(encoding="utf-8"), module)
        if name == "django.core.cache" or name.startswith("django.core.cache.")
    ]
    assert found == []


def task_names_in_code() -> Iterator[tuple[str, str]]:
    """(module, name) of every string in the apps' code that names a task."""
    for module, path in product_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and TASK_NAME.fullmatch(node.value):
                yield module, node.value


def test_every_task_named_in_the_code_is_a_registered_task() -> None:
    names = list(task_names_in_code())
    # The services' requests: prefetch, refresh, re-extract, large document, backfill,
    # discovery.
    assert len(names) >= 6
    for module, name in names:
        assert registered_task(name).name == name, module


def test_an_unknown_task_name_is_refused() -> None:
    with pytest.raises(KeyError):
        registered_task("apps.manuals.tasks.no_such_task")
