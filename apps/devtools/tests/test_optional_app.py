"""The product runs without this app, as in the runtime image, and a checkout has it."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import get_commands

_WITHOUT_DEVTOOLS = """
import sys
sys.modules["apps.devtools"] = None  # as if the folder were not there: find_spec finds nothing
import django
django.setup()
from django.conf import settings
from django.core.management import call_command, get_commands
assert "apps.devtools" not in settings.INSTALLED_APPS, settings.INSTALLED_APPS
assert "loadtest" not in get_commands()
call_command("check")
"""


def test_the_project_passes_its_checks_without_the_devtools_app() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="hscjit.settings")
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_DEVTOOLS],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_checkout_serves_the_benchmark_and_evaluation_commands() -> None:
    commands = get_commands()
    for name in ("loadtest", "bench_prediction", "eval_answers", "make_dashboard_data"):
        assert commands[name] == "apps.devtools", name
