"""The HTTP edge: downloads of untrusted manual URLs (see client.py and addresses.py)."""

from __future__ import annotations

from apps.manuals.fetching.addresses import (
    Resolver,
    is_public,
    parse_allowed_hosts,
    system_resolver,
)
from apps.manuals.fetching.client import Fetched, FetchError, FetchPolicy, fetch_to_file, sniff_kind

__all__ = [
    "FetchError",
    "FetchPolicy",
    "Fetched",
    "Resolver",
    "fetch_to_file",
    "is_public",
    "parse_allowed_hosts",
    "sniff_kind",
    "system_resolver",
]
