"""Celery adapters for catalog jobs."""

from __future__ import annotations

from celery import shared_task

from apps.products import services
from hscjit.schedules import claim_run


@shared_task
def regenerate_product_cache() -> dict[str, int] | None:
    """Scheduled hourly (see migration chat 0002); None when a duplicate run was skipped."""
    if not claim_run("regenerate_product_cache"):
        return None
    return {"cards": services.regenerate_product_cache()}
