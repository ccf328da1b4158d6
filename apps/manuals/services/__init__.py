"""Writes for manuals: queueing fetches, the fetch → extract → store pipeline, status pushes.

Who works on a manual is decided in the database (leases.py): a conditional UPDATE stamps
the row with a lease, so only one process fetches a manual at a time on any number of
workers, and a worker that dies leaves a lease that simply runs out. A manual that is already
`ready` is refreshed and re-extracted quietly: customers keep its current pages, and the new
ones replace them in one transaction only once they were read successfully (pipeline.py).
"""

from __future__ import annotations

from apps.manuals.services.catalog import import_catalog
from apps.manuals.services.documents import attach_document
from apps.manuals.services.leases import ManualBusy, ManualTransientError
from apps.manuals.services.pipeline import (
    extract_limits,
    fetch_policy,
    index_large_document,
    ingest_manual,
    prefetch,
    reextract,
    refresh,
)
from apps.manuals.services.queueing import (
    fetch_now,
    request_prefetch,
    request_reextract,
    request_refresh,
    requeue_stuck,
)
from apps.manuals.services.status import INTERNAL, NO_SOURCE, manual_group, publish_status

__all__ = [
    "INTERNAL",
    "NO_SOURCE",
    "ManualBusy",
    "ManualTransientError",
    "attach_document",
    "extract_limits",
    "fetch_now",
    "fetch_policy",
    "import_catalog",
    "index_large_document",
    "ingest_manual",
    "manual_group",
    "prefetch",
    "publish_status",
    "reextract",
    "refresh",
    "request_prefetch",
    "request_reextract",
    "request_refresh",
    "requeue_stuck",
]
