"""The CI/CD workflow: tests with PostgreSQL and Redis, lint, image build, vulnerability scan,
deployment checked with `kubectl rollout status`, smoke tests, and rollback, wired in order."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
import yaml

from deploy.tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def _load(path: Any) -> dict[str, Any]:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


@pytest.fixture(scope="module")
def jobs() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        found.update(_load(path)["jobs"])
    return found


def _needs(job: dict[str, Any]) -> set[str]:
    needs = job.get("needs", [])
    return {needs} if isinstance(needs, str) else set(needs)


def _ancestors(jobs: dict[str, dict[str, Any]], name: str) -> set[str]:
    seen: set[str] = set()
    pending = list(_needs(jobs[name]))
    while pending:
        job = pending.pop()
        if job not in seen:
            seen.add(job)
            pending.extend(_needs(jobs[job]))
    return seen


def _script(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _uses(job: dict[str, Any]) -> list[str]:
    return [step.get("uses", "") for step in job["steps"]]


def test_the_pipeline_runs_test_build_scan_deploy_smoke_and_rollback_in_order(jobs: dict) -> None:
    order = ["test", "build", "scan", "deploy", "smoke", "rollback"]
    for earlier, later in pairwise(order):
        assert earlier in _ancestors(jobs, later), f"{later} does not wait for {earlier}"
    assert "lint" in _ancestors(jobs, "build")


def test_tests_run_against_postgresql_and_redis_service_containers(jobs: dict) -> None:
    test = jobs["test"]
    images = {name: service["image"] for name, service in test["services"].items()}
    assert images["postgres"].startswith("postgres:")
    assert images["redis"].startswith("redis:")
    assert test["env"]["DATABASE_URL"].startswith("postgres://")
    assert test["env"]["REDIS_URL"].startswith("redis://")
    assert test["env"]["HSCJIT_REQUIRE_SERVICES"] == "1"
    assert "make test" in _script(test)


def test_lint_runs_ruff(jobs: dict) -> None:
    script = _script(jobs["lint"])
    assert "ruff check" in script and "ruff format --check" in script


def test_the_build_makes_the_container_image_and_the_scan_can_fail_it(jobs: dict) -> None:
    builds = [
        s
        for s in jobs["build"]["steps"]
        if s.get("uses", "").startswith("docker/build-push-action")
    ]
    assert {s["with"]["target"] for s in builds} == {"runtime", "backup"}
    scans = [
        s
        for s in jobs["scan"]["steps"]
        if s.get("uses", "").startswith("aquasecurity/trivy-action")
    ]
    assert len(scans) == 2
    assert all(s["with"]["exit-code"] == "1" for s in scans)


def test_deploy_waits_for_the_rollout_of_every_deployment(jobs: dict) -> None:
    deploy = jobs["deploy"]
    assert "refs/heads/main" in deploy["if"]
    script = _script(deploy)
    assert script.index("docker push") < script.index("kubectl apply -k deploy")
    assert "kubectl -n hscjit wait --for=condition=complete job/migrate" in script
    for deployment in ("web", "worker", "beat"):
        assert f"rollout status deployment/{deployment}" in script


def test_smoke_tests_hit_health_and_ready(jobs: dict) -> None:
    script = _script(jobs["smoke"])
    assert "/health" in script and "/ready" in script
    assert "--fail" in script


def test_rollback_runs_only_when_deploy_or_smoke_fails(jobs: dict) -> None:
    rollback = jobs["rollback"]
    assert _needs(rollback) == {"deploy", "smoke"}
    condition = rollback["if"]
    assert condition.startswith("failure()")
    assert "needs.deploy.result == 'failure'" in condition
    assert "needs.smoke.result == 'failure'" in condition
    script = _script(rollback)
    for deployment in ("web", "worker", "beat"):
        assert "rollout undo" in script and deployment in script
    assert "rollout status deployment/web" in script


def test_secrets_never_go_into_a_script_by_expression(jobs: dict) -> None:
    for name, job in jobs.items():
        assert "${{ secrets." not in _script(job), name


def test_actions_are_pinned_to_a_version(jobs: dict) -> None:
    for job in jobs.values():
        for action in filter(None, _uses(job)):
            assert "@" in action and not action.endswith(("@main", "@master")), action
