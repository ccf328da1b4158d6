"""The container entrypoint and the worker metrics exporter, run for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from apps.devtools.testing import wait_until
from deploy.tests.conftest import DEPLOY, REPO

ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"


def _entrypoint(tmp_path: Path, env: dict[str, str], *command: str) -> str:
    return subprocess.run(
        [str(ENTRYPOINT), *command],
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=tmp_path,
    ).stdout


def test_the_entrypoint_accepts_the_containers_own_addresses(tmp_path: Path) -> None:
    out = _entrypoint(
        tmp_path,
        {"ALLOWED_HOSTS": "support.example.com", "PROMETHEUS_MULTIPROC_DIR": ""},
        "sh",
        "-c",
        'printf %s "$ALLOWED_HOSTS"',
    )
    hosts = out.split(",")
    assert hosts[0] == "support.example.com"
    assert {"localhost", "127.0.0.1"} <= set(hosts)
    own = socket.gethostbyname(socket.gethostname())
    assert own in hosts


def test_the_entrypoint_can_leave_allowed_hosts_alone(tmp_path: Path) -> None:
    out = _entrypoint(
        tmp_path,
        {
            "ALLOWED_HOSTS": "support.example.com",
            "ALLOWED_HOSTS_ADD_OWN_ADDRESSES": "0",
            "PROMETHEUS_MULTIPROC_DIR": "",
        },
        "sh",
        "-c",
        'printf %s "$ALLOWED_HOSTS"',
    )
    assert out == "support.example.com"


def test_the_entrypoint_clears_stale_metric_files_and_execs_the_command(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_12.db").write_bytes(b"stale")
    (metrics / "keep.txt").write_text("not a metrics file")
    out = _entrypoint(
        tmp_path,
        {"PROMETHEUS_MULTIPROC_DIR": str(metrics)},
        "sh",
        "-c",
        "echo ran as $$",
    )
    assert out.startswith("ran as ")
    assert not (metrics / "counter_12.db").exists()
    assert (metrics / "keep.txt").exists()


@pytest.mark.slow
def test_the_exporter_serves_what_other_processes_wrote(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics), "PYTHONPATH": str(REPO)}
    writer = (
        "from prometheus_client import Counter\nCounter('documents_indexed_total', 'x').inc(3)\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", writer], env=env, check=True, timeout=60)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exporter = subprocess.Popen(
        [sys.executable, "-m", "deploy.docker.metrics_exporter"],
        env={**env, "METRICS_EXPORTER_PORT": str(port), "METRICS_EXPORTER_ADDRESS": "127.0.0.1"},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read().decode()

    try:
        body = wait_until(scrape, within=10, what="the exporter serves /metrics")
        assert "documents_indexed_total 6.0" in body
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
    assert exporter.returncode == 0
