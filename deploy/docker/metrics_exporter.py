"""Serve the Prometheus samples that this pod's (or container's) processes wrote.

Celery workers run no HTTP server, yet they record fetch and extraction metrics in
prometheus_client's multiprocess files under PROMETHEUS_MULTIPROC_DIR. This exporter reads that
directory and answers every scrape with the aggregate, so Prometheus scrapes one target per pod.

Run from the image's /app: `python -m deploy.docker.metrics_exporter`.
"""

from __future__ import annotations

import os
import signal
import sys

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from hscjit.env import env_int, env_str


def build_registry(directory: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


def main() -> int:
    directory = env_str("PROMETHEUS_MULTIPROC_DIR")
    port = env_int("METRICS_EXPORTER_PORT", 9100, minimum=1, maximum=65535)
    # Inside a pod the scraper comes from another address; the NetworkPolicy limits who may.
    address = env_str("METRICS_EXPORTER_ADDRESS", "0.0.0.0")  # noqa: S104
    # The sidecar may start before the worker has created the directory.
    os.makedirs(directory, exist_ok=True)
    server, _thread = start_http_server(port, addr=address, registry=build_registry(directory))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
