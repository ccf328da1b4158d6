"""Every manifest in deploy/k8s is valid against the Kubernetes OpenAPI schemas (offline, with
the schemas kubernetes-validate ships) and keeps the promises of the operations guide."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv

from deploy.tests.conftest import DEPLOY, K8S, load_yaml_documents

KUBERNETES_VERSION = "1.30"
APP_IMAGE = "ghcr.io/halilit/hscjit"
GUIDE = (DEPLOY / "README.md").read_text()


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc)
        for path in sorted(K8S.glob("*.yaml"))
        for doc in load_yaml_documents(path)
    ]


def _by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def _containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def _workloads(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = {"Deployment", "StatefulSet", "Job", "CronJob"}
    return [d for d in documents if d["kind"] in kinds]


@pytest.mark.parametrize(("name", "manifest"), _manifests(), ids=[n for n, _ in _manifests()])
def test_every_manifest_is_valid_against_the_kubernetes_schema(
    name: str, manifest: dict[str, Any]
) -> None:
    try:
        kv.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kv.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        pytest.fail(f"{name}: {path}: {error.message}")
    except kv.SchemaNotFoundError as error:
        pytest.fail(f"{name}: {error.message}")


def test_the_schema_check_rejects_an_invalid_manifest(k8s_documents: list[dict]) -> None:
    web = yaml.safe_load(yaml.safe_dump(_by_kind(k8s_documents, "Deployment")["web"]))
    web["spec"]["replicas"] = "three"
    with pytest.raises(kv.ValidationError):
        kv.validate(web, KUBERNETES_VERSION, strict=True)


def test_everything_lives_in_the_hscjit_namespace(k8s_documents: list[dict]) -> None:
    for doc in k8s_documents:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "hscjit", doc["metadata"]["name"]


def test_web_probes_health_for_liveness_and_ready_for_readiness(k8s_documents: list) -> None:
    web = _by_kind(k8s_documents, "Deployment")["web"]
    (container,) = _pod_spec(web)["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["args"][0] == "daphne" and "hscjit.asgi:application" in container["args"]


def test_web_drains_websockets_before_it_stops(k8s_documents: list) -> None:
    pod = _pod_spec(_by_kind(k8s_documents, "Deployment")["web"])
    (container,) = pod["containers"]
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    close_timeout = int(
        container["args"][container["args"].index("--application-close-timeout") + 1]
    )
    assert pause >= 5
    assert pod["terminationGracePeriodSeconds"] > pause + close_timeout


def test_web_pods_prefer_different_nodes(k8s_documents: list) -> None:
    pod = _pod_spec(_by_kind(k8s_documents, "Deployment")["web"])
    terms = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    term = terms[0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"


def test_there_is_exactly_one_beat_and_it_is_replaced_not_rolled(k8s_documents: list) -> None:
    beats = [
        d
        for d in _workloads(k8s_documents)
        if any("beat" in c.get("args", []) for c in _pod_spec(d)["containers"])
    ]
    assert [b["metadata"]["name"] for b in beats] == ["beat"]
    beat = beats[0]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    args = _pod_spec(beat)["containers"][0]["args"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in args
    targets = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in _by_kind(k8s_documents, "HorizontalPodAutoscaler").values()
    }
    assert "beat" not in targets


def test_the_autoscaler_scales_web_as_the_guide_says(k8s_documents: list) -> None:
    hpa = _by_kind(k8s_documents, "HorizontalPodAutoscaler")["web"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    promise = re.search(r"HPA keeps (\d+) to (\d+) web pods at\s+(\d+)% CPU / (\d+)% memory", GUIDE)
    assert promise, "the guide's Scaling section no longer says what the HPA keeps"
    low, high, cpu, memory = map(int, promise.groups())
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (low, high)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": cpu},
        "memory": {"type": "Utilization", "averageUtilization": memory},
    }
    settles = re.search(r"scales up at once and down only\s+after (\d+) minutes", GUIDE)
    assert settles, "the guide no longer says how fast the HPA scales"
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 60 * int(settles[1])


def test_the_restore_runbook_scales_back_to_what_the_manifests_run(k8s_documents: list) -> None:
    deployments = _by_kind(k8s_documents, "Deployment")
    scaled_back = re.findall(r"scale deployment/(\w+) --replicas=([1-9]\d*)", GUIDE)
    assert {name for name, _ in scaled_back} == {"web", "worker", "beat"}
    for name, replicas in scaled_back:
        assert deployments[name]["spec"]["replicas"] == int(replicas), name


def test_a_disruption_budget_keeps_web_pods_serving(k8s_documents: list) -> None:
    pdbs = _by_kind(k8s_documents, "PodDisruptionBudget")
    assert pdbs["web"]["spec"]["minAvailable"] >= 2
    assert pdbs["web"]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert not any(
        p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") == "beat"
        for p in pdbs.values()
    )


def test_every_container_pins_its_image_and_sets_resources(k8s_documents: list) -> None:
    for workload in _workloads(k8s_documents):
        for container in _containers(_pod_spec(workload)):
            where = f"{workload['metadata']['name']}/{container['name']}"
            image = container["image"]
            name, _, tag = image.rpartition(":")
            assert name and "/" not in tag, f"{where}: {image} has no tag"
            assert tag != "latest", f"{where}: {image} uses latest"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert "memory" in resources["limits"], where


def test_every_pod_runs_unprivileged(k8s_documents: list) -> None:
    for workload in _workloads(k8s_documents):
        pod = _pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        for container in _containers(pod):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]


def test_the_backup_runs_daily_when_the_guide_says(k8s_documents: list) -> None:
    cron = _by_kind(k8s_documents, "CronJob")["backup"]["spec"]
    when = re.search(r"the `backup` CronJob at (\d\d):(\d\d) UTC", GUIDE)
    assert when, "the guide no longer says when the backup runs"
    hour, minute = map(int, when.groups())
    assert cron["schedule"] == f"{minute} {hour} * * *"
    assert cron["timeZone"] in {"Etc/UTC", "UTC"}
    assert cron["concurrencyPolicy"] == "Forbid"
    (container,) = _pod_spec(_by_kind(k8s_documents, "CronJob")["backup"])["containers"]
    assert container["image"].startswith("ghcr.io/halilit/hscjit-backup:")


def test_only_prometheus_may_use_the_kubernetes_api_and_only_to_read_pods(
    k8s_documents: list,
) -> None:
    accounts = _by_kind(k8s_documents, "ServiceAccount")
    for name, account in accounts.items():
        assert account.get("automountServiceAccountToken") is (name == "hscjit-prometheus"), name
    assert not _by_kind(k8s_documents, "ClusterRole")
    assert not _by_kind(k8s_documents, "ClusterRoleBinding")
    (role,) = _by_kind(k8s_documents, "Role").values()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}
        assert "secrets" not in rule["resources"]
    (binding,) = _by_kind(k8s_documents, "RoleBinding").values()
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "hscjit-prometheus", "namespace": "hscjit"}
    ]
    used = {_pod_spec(w)["serviceAccountName"] for w in _workloads(k8s_documents)}
    assert used <= set(accounts)


def _allowed_ports(policies: dict, component: str, direction: str) -> set[int]:
    ports: set[int] = set()
    for policy in policies.values():
        selector = policy["spec"]["podSelector"]
        labels = selector.get("matchLabels", {})
        if labels and labels.get("app.kubernetes.io/component") != component:
            continue
        for rule in policy["spec"].get(direction, []):
            ports |= {p["port"] for p in rule.get("ports", [])}
    return ports


def test_network_policies_deny_by_default_and_open_only_what_is_needed(k8s_documents: list) -> None:
    policies = _by_kind(k8s_documents, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny["ingress"] and not deny["egress"]
    assert _allowed_ports(policies, "web", "ingress") == {8000}
    assert _allowed_ports(policies, "worker", "ingress") == {9100}
    assert _allowed_ports(policies, "beat", "ingress") == set()
    assert _allowed_ports(policies, "postgres", "ingress") == {5432}
    assert _allowed_ports(policies, "redis", "ingress") == {6379}
    assert _allowed_ports(policies, "beat", "egress") == {53, 5432, 6379}
    assert _allowed_ports(policies, "migrate", "egress") == {53, 5432}
    # Workers fetch manuals from the internet, never from private addresses.
    worker = policies["worker"]["spec"]["egress"]
    public = [r for r in worker if any("ipBlock" in t for t in r.get("to", []))]
    assert public and "10.0.0.0/8" in public[0]["to"][0]["ipBlock"]["except"]


def test_pods_that_prometheus_scrapes_are_annotated_with_their_metrics_port(
    k8s_documents: list,
) -> None:
    deployments = _by_kind(k8s_documents, "Deployment")
    for name, port in (("web", 8000), ("worker", 9100)):
        annotations = deployments[name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        ports = [
            p["containerPort"]
            for c in _pod_spec(deployments[name])["containers"]
            for p in c.get("ports", [])
        ]
        assert port in ports


def test_the_worker_metrics_sidecar_does_not_run_the_entrypoint(k8s_documents: list) -> None:
    pod = _pod_spec(_by_kind(k8s_documents, "Deployment")["worker"])
    sidecar = next(c for c in pod["containers"] if c["name"] == "metrics")
    # `command` replaces the image's entrypoint, which would clear the worker's metric files.
    assert sidecar["command"] == ["python", "-m", "deploy.docker.metrics_exporter"]
    worker = next(c for c in pod["containers"] if c["name"] == "worker")
    assert "command" not in worker
    mounts = {c["name"]: {m["mountPath"] for m in c["volumeMounts"]} for c in pod["containers"]}
    assert "/tmp" in mounts["metrics"] and "/tmp" in mounts["worker"]


def test_the_secret_template_holds_no_real_secret() -> None:
    (secret,) = load_yaml_documents(K8S / "secret.template.yaml")
    for key, value in secret["stringData"].items():
        assert value == "" or "REPLACE_ME" in value, key


def test_the_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {f"k8s/{p.name}" for p in K8S.glob("*.yaml")} - {"k8s/secret.template.yaml"}
    assert listed == on_disk
    for generator in kustomization["configMapGenerator"]:
        for entry in generator["files"]:
            assert (DEPLOY / entry.partition("=")[2]).is_file(), entry


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl (for its kustomize) is absent")
def test_the_rendered_kustomization_is_valid_and_resolves_generated_config_maps() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    for doc in documents:
        kv.validate(doc, KUBERNETES_VERSION, strict=True)
    config_maps = {d["metadata"]["name"] for d in documents if d["kind"] == "ConfigMap"}
    for workload in _workloads(documents):
        for volume in _pod_spec(workload).get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
    images = {
        c["image"]
        for w in _workloads(documents)
        for c in _containers(_pod_spec(w))
        if c["image"].startswith(APP_IMAGE)
    }
    assert images == {f"{APP_IMAGE}:0.1.0", f"{APP_IMAGE}-backup:0.1.0"}
