"""Decide which services the test run uses; prints shell `export`/`unset` lines.

`make test` runs against PostgreSQL and Redis at their standard local addresses. When one
cannot be reached it says so and falls back to the embedded default, unless
HSCJIT_REQUIRE_SERVICES is set (as `.ci/run` does): then an unreachable service is an error.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
from urllib.parse import urlparse

from hscjit.env import env_bool

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hscjit",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
PORTS = {"DATABASE_URL": 5432, "REDIS_URL": 6379}


def reachable(url: str, default_port: int, timeout: float = 2.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=timeout
        ):
            return True
    except OSError:
        return False


def main() -> int:
    required = env_bool("HSCJIT_REQUIRE_SERVICES", False)
    lines: list[str] = []
    for name, default in DEFAULTS.items():
        url = os.environ.get(name) or default
        if reachable(url, PORTS[name]):
            lines.append(f"export {name}={shlex.quote(url)}")
            continue
        message = f"{name}: {url} cannot be reached"
        if required:
            print(f"error: {message}, and HSCJIT_REQUIRE_SERVICES is set", file=sys.stderr)
            return 1
        print(f"warning: {message}; tests needing it are skipped", file=sys.stderr)
        lines.append(f"unset {name}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
