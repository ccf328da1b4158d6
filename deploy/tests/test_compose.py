"""docker-compose.yml: the services, profiles, volumes and healthchecks the guide promises."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from deploy.tests.conftest import DEPLOY, REPO

APP_SERVICES = {"migrate", "web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _command(service: dict[str, Any]) -> list[str]:
    return service.get("command", [])


def test_the_stack_has_every_service(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "prometheus", "grafana", "proxy"} | APP_SERVICES <= set(services)
    for name in APP_SERVICES:
        assert services[name]["build"]["target"] == "runtime", name


def test_web_runs_two_daphne_replicas(compose: dict) -> None:
    web = compose["services"]["web"]
    assert web["deploy"]["replicas"] == 2
    assert _command(web)[:1] == ["daphne"] and "hscjit.asgi:application" in _command(web)
    assert "ports" not in web, "replicas cannot share a host port; the proxy publishes it"


def test_there_is_exactly_one_beat(compose: dict) -> None:
    beats = [n for n, s in compose["services"].items() if "beat" in _command(s)]
    assert beats == ["beat"]
    beat = compose["services"]["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    assert "django_celery_beat.schedulers:DatabaseScheduler" in _command(beat)
    workers = [n for n, s in compose["services"].items() if "worker" in _command(s)]
    assert workers == ["worker"]


def test_migrations_run_once_before_the_application_starts(compose: dict) -> None:
    services = compose["services"]
    assert _command(services["migrate"]) == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_databases_keep_their_data_in_named_volumes(compose: dict) -> None:
    services, volumes = compose["services"], compose["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    for service in services.values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith("."):
                assert source in volumes, source
    # Workers store manuals that web processes serve: both see the same media volume.
    assert "media:/var/lib/hscjit/media" in services["web"]["volumes"]
    assert "media:/var/lib/hscjit/media" in services["worker"]["volumes"]


def test_every_long_running_service_has_a_healthcheck(compose: dict) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck", {})
        if name in {"migrate", "backup"}:
            assert check.get("disable") is True, name
            continue
        assert check.get("test"), f"{name} has no healthcheck"
    assert "/health" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_admin_tools_sit_behind_the_admin_profile_on_loopback(compose: dict) -> None:
    services = compose["services"]
    admin = {n for n, s in services.items() if "admin" in s.get("profiles", [])}
    assert admin == {"pgadmin", "redisinsight"}
    for name in admin | {"prometheus", "grafana"}:
        for port in services[name]["ports"]:
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    for name in APP_SERVICES | {"postgres", "redis", "prometheus", "grafana", "proxy"}:
        assert not services[name].get("profiles"), name


def test_no_image_uses_a_floating_tag(compose: dict) -> None:
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if "build" in service:
            continue
        _, _, tag = image.rpartition(":")
        assert tag and tag != "latest" and "/" not in tag, f"{name}: {image}"


def test_prometheus_and_grafana_get_their_config_from_deploy(compose: dict) -> None:
    services = compose["services"]
    mounted = [
        m.split(":")[0] for n in ("prometheus", "grafana", "proxy") for m in services[n]["volumes"]
    ]
    for source in mounted:
        if source.startswith("./"):
            assert (REPO / source).exists(), source
    prometheus = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["hscjit-web"]["dns_sd_configs"][0] == {
        "names": ["web"],
        "type": "A",
        "port": 8000,
        "refresh_interval": "30s",
    }
    assert jobs["hscjit-worker"]["dns_sd_configs"][0]["port"] == 9100
    assert services["worker"]["environment"]["METRICS_EXPORTER_PORT"] == "9100"
