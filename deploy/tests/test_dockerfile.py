"""The container file: multi-stage, small non-root runtime, static files collected, healthcheck."""

from __future__ import annotations

import re

import pytest

from deploy.tests.conftest import REPO


def _instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    result = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current = None
    for keyword, rest in _instructions():
        if keyword == "FROM":
            current = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
            stages[current] = []
        elif current is not None:
            stages[current].append((keyword, rest))
    return stages


@pytest.fixture(scope="module")
def stages() -> dict[str, list[tuple[str, str]]]:
    return _stages()


def test_it_builds_in_stages_and_ends_with_the_runtime(stages: dict) -> None:
    assert list(stages)[-1] == "runtime"
    assert {"builder", "static", "backup", "runtime"} <= set(stages)


def test_the_runtime_image_runs_as_a_non_root_user(stages: dict) -> None:
    users = [rest for keyword, rest in stages["runtime"] if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any("useradd" in rest for keyword, rest in stages["runtime"] if keyword == "RUN")


def test_the_runtime_image_gets_no_compiler_or_build_tools(stages: dict) -> None:
    runs = " ".join(rest for keyword, rest in stages["runtime"] if keyword == "RUN")
    assert "apt-get install" not in runs and "pip install" not in runs
    copies = [rest for keyword, rest in stages["runtime"] if keyword == "COPY"]
    assert any("--from=builder /opt/venv" in c for c in copies)


def test_static_files_are_collected_at_build_time(stages: dict) -> None:
    runs = " ".join(rest for keyword, rest in stages["static"] if keyword == "RUN")
    assert "manage.py collectstatic --noinput" in runs
    copies = [rest for keyword, rest in stages["runtime"] if keyword == "COPY"]
    assert any(c.startswith("--from=static") for c in copies)


def test_the_image_checks_its_own_health_and_serves_the_asgi_app(stages: dict) -> None:
    runtime = dict(stages["runtime"])
    assert "/health" in runtime["HEALTHCHECK"]
    assert '"daphne"' in runtime["CMD"] and '"hscjit.asgi:application"' in runtime["CMD"]
    assert "entrypoint.sh" in runtime["ENTRYPOINT"]
    assert runtime["EXPOSE"] == "8000"


def test_base_images_are_pinned() -> None:
    for keyword, rest in _instructions():
        if keyword == "ARG" and "_IMAGE=" in rest:
            image = rest.partition("=")[2]
            assert ":" in image and not image.endswith(":latest"), image


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "db.sqlite3", "var"} <= ignored


def test_the_build_context_leaves_out_the_development_tools_and_the_tests() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {"apps/devtools", "**/tests"} <= ignored
