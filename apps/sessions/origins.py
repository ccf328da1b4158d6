"""Web origins (scheme, host, port) as the embed settings and the socket's Origin check use them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> str:
    """`scheme://host[:port]` in lower case and without its default port; ValueError if
    `value` is not an origin (a path, a query, user info, another scheme)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin (scheme://host[:port])")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r} is not an origin: it has more than scheme, host and port")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has a port that is not a number from 0 to 65535") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if not _HOST.match(host):
        raise ValueError(f"{value!r} has an invalid host")
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{suffix}"
