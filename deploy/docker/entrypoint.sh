#!/bin/sh
# Start-up shared by the web, worker and beat containers. It ends with `exec`, so the role's
# process replaces this shell and receives SIGTERM itself (graceful shutdown, WebSocket drain).
set -eu

# prometheus_client multiprocess mode: every process of this container writes its samples here.
# Files left by an earlier run of the container belong to processes that no longer exist; a new
# process could reuse one of their PIDs and inherit a stale gauge, so start from an empty dir.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -type f -name '*.db' -delete
fi

# Probes, the container healthcheck and Prometheus reach the process by its own address (pod
# IP, container IP or loopback) in the Host header, not by the public name: accept those too.
if [ "${ALLOWED_HOSTS_ADD_OWN_ADDRESSES:-1}" = "1" ]; then
  own="$(python -c 'import socket
names = {"localhost", "127.0.0.1", "[::1]"}
try:
    for info in socket.getaddrinfo(socket.gethostname(), None):
        address = info[4][0]
        names.add(f"[{address}]" if ":" in address else address)
except OSError:
    pass
print(",".join(sorted(names)))')"
  ALLOWED_HOSTS="${ALLOWED_HOSTS:+$ALLOWED_HOSTS,}$own"
  export ALLOWED_HOSTS
fi

# Celery workers serve no HTTP; with METRICS_EXPORTER_PORT set (compose) this container also runs
# the small exporter that publishes what its processes wrote. On Kubernetes a sidecar does it.
if [ -n "${METRICS_EXPORTER_PORT:-}" ]; then
  python -m deploy.docker.metrics_exporter &
fi

exec "$@"
