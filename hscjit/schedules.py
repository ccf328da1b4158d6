"""Keeping a periodic job to one run per schedule slot.

Only one celery-beat may run (README, deploy/README.md), but if a second one starts by
mistake every job is sent twice. The first task of a job to arrive claims a slot in the
shared cache for SCHEDULE_LOCK_SECONDS; a duplicate arriving meanwhile is skipped. The slot
is not released when the job ends, because the duplicate may arrive after that.
"""

from __future__ import annotations

import logging

from django.conf import settings

from hscjit import cache

logger = logging.getLogger(__name__)


def claim_run(job: str, *, seconds: int | None = None) -> bool:
    """True for the first caller in the window; False for a duplicate of the same job."""
    window = settings.SCHEDULE_LOCK_SECONDS if seconds is None else seconds
    # `add` is SET NX in Redis: of two callers, exactly one gets True.
    claimed = cache.add(f"schedule-run:{job}", "1", timeout=window)
    if claimed is None:
        # Without the shared cache no duplicate can be detected; the jobs are idempotent.
        logger.warning("cannot claim a run of %s (cache down); running anyway", job)
        return True
    if not claimed:
        logger.info("skipping %s: another run started less than %ss ago", job, window)
    return claimed
