"""What an operator sees from `manage.py` without settings and from the Makefile's targets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings


def _manage(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("overrides", [{}, {"DEBUG": "0"}, {"DEBUG": "0", "SECRET_KEY": "short"}])
def test_a_command_without_usable_settings_prints_one_line_saying_what_to_set(
    overrides: dict[str, str],
) -> None:
    result = _manage("check", **overrides)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY" in lines[0]
    assert "DEBUG=1" in lines[0]


def test_a_command_with_debug_on_runs_against_the_embedded_default(tmp_path) -> None:
    result = _manage("check", DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.returncode == 0, result.stderr


def _make_dry_run(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "-n", *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_says_how_to_import_the_real_catalog() -> None:
    commands = _make_dry_run("run")
    hint = commands.index("make demo-full")
    assert "halilit-2026" in commands[hint:]
    assert hint < commands.index("runserver"), "the hint comes before the server's output"


def test_make_demo_full_imports_the_shared_catalog_before_serving(tmp_path) -> None:
    commands = _make_dry_run("demo-full", f"FULL_CATALOG={tmp_path}")
    assert "load_demo" in commands
    assert f'import_catalog "{tmp_path}"' in commands
    assert commands.index("import_catalog") < commands.index("runserver")
    default = _make_dry_run("demo-full")
    assert 'import_catalog "../shared/catalogs/halilit-2026"' in default
