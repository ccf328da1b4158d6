"""Celery tasks for manuals: thin adapters that call one service each.

A transient download failure is retried with backoff; a worker that dies mid-task leaves an
expired lease behind, and the redelivered message (acks_late) reclaims the manual.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from apps.manuals import services
from apps.manuals.models import DiscoverySource, Manual
from hscjit.logging_context import log_context
from hscjit.metrics import BACKGROUND_TASKS_ACTIVE
from hscjit.schedules import claim_run

_RETRY = {
    "bind": True,
    "autoretry_for": (services.ManualTransientError,),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 3,
}


def _run(task: Task, work: Any, manual_id: int, **kwargs: Any) -> None:
    with log_context(manual_id=manual_id), BACKGROUND_TASKS_ACTIVE.track_inprogress():
        try:
            work(manual_id=manual_id, **kwargs)
        except Manual.DoesNotExist:
            return
        except services.ManualBusy as busy:
            if task.request.is_eager:
                return
            raise task.retry(countdown=busy.retry_in, max_retries=5) from busy


def _last_attempt(task: Task) -> bool:
    return task.request.retries >= (task.max_retries or 0)


@shared_task(**_RETRY)
def prefetch_manual(self: Task, manual_id: int) -> None:
    _run(self, services.prefetch, manual_id, last_attempt=_last_attempt(self))


@shared_task(**_RETRY)
def refresh_manual(self: Task, manual_id: int) -> None:
    _run(self, services.refresh, manual_id, last_attempt=_last_attempt(self))


@shared_task(bind=True)
def index_large_document(self: Task, manual_id: int) -> None:
    _run(self, services.index_large_document, manual_id)


@shared_task(bind=True)
def reextract_manual(self: Task, manual_id: int) -> None:
    _run(self, services.reextract, manual_id)


@shared_task
def build_manual_index(manual_id: int) -> None:
    """Backfill: build and embed the stored index of a ready manual that has none."""
    from apps.manuals.retrieval.store import index_manual

    with log_context(manual_id=manual_id), BACKGROUND_TASKS_ACTIVE.track_inprogress():
        index_manual(manual_id=manual_id)


@shared_task
def requeue_stuck_manuals() -> int:
    """Every minute (migration manuals 0007): queue again the manuals whose task is gone.
    Returns how many were queued.

    No `claim_run`: its window would skip every run of a schedule staff set shorter than it,
    delaying a stuck manual by the window instead of the period. A second beat's copy costs
    one query, since each manual is queued by a conditional UPDATE that only one run wins."""
    return services.requeue_stuck()


@shared_task
def refresh_manuals() -> int | None:
    """Weekly (migration chat 0002): queue a conditional re-download of every ready manual
    fetched from a URL. Returns how many were queued; None when a duplicate run was skipped."""
    if not claim_run("refresh_manuals"):
        return None
    # A staff upload replaces the URL, so there is nothing to re-download for those.
    ready = Manual.objects.filter(status=Manual.Status.READY, uploaded_file="").exclude(
        source_url=""
    )
    return sum(
        services.request_refresh(manual_id=manual_id)
        for manual_id in ready.values_list("pk", flat=True).iterator()
    )


@shared_task(**_RETRY)
def discover_documents(self: Task, source_id: int) -> None:
    """Read a vendor page that links to documents and attach each product's (discovery)."""
    from apps.manuals.services.discovery import run_discovery

    with log_context(discovery_source_id=source_id), BACKGROUND_TASKS_ACTIVE.track_inprogress():
        try:
            run_discovery(source_id=source_id, last_attempt=_last_attempt(self))
        except DiscoverySource.DoesNotExist:
            return
