"""Requests for work on a manual: cheap, called from consumers, the admin and commands."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.manuals.models import Manual
from apps.manuals.services.leases import IN_FLIGHT, expired, lease_expiry
from apps.manuals.services.status import fail_without_source, has_source, publish_status
from hscjit.background import enqueue

Status = Manual.Status


def request_prefetch(*, manual_id: int, force: bool = False) -> bool:
    """Queue `prefetch_manual` unless the manual is ready or already on its way.

    A failed manual is retried only after MANUAL_FAILED_RETRY_SECONDS (or with `force`),
    so customers typing about a product with a dead link do not hammer the vendor.
    """
    manual = Manual.objects.filter(pk=manual_id).first()
    if manual is None:
        return False
    if not has_source(manual):
        fail_without_source(manual)
        return False
    now = timezone.now()
    failed = Q(status=Status.FAILED) if force else Q(status=Status.FAILED) & expired(now)
    waiting = Q(status=Status.MISSING) | failed | (Q(status__in=IN_FLIGHT) & expired(now))
    with transaction.atomic():
        queued = Manual.objects.filter(waiting, pk=manual_id).update(
            status=Status.QUEUED,
            progress=0.0,
            error="",
            lease_token="",
            lease_until=lease_expiry(now),
        )
        if not queued:
            return False
        manual.refresh_from_db()
        publish_status(manual=manual)
        enqueue("apps.manuals.tasks.prefetch_manual", manual_id)
    return True


def requeue_stuck() -> int:
    """Queue again every manual left `queued`, `fetching` or `extracting` by a task that is
    gone (a killed worker, a Redis restart that lost the queue): its lease ran out. Returns
    how many were queued. A task that is only late finds the manual claimed and does nothing,
    so a duplicate costs one no-op task."""
    stuck = Manual.objects.filter(status__in=IN_FLIGHT).filter(expired(timezone.now()))
    return sum(
        request_prefetch(manual_id=manual_id)
        for manual_id in stuck.values_list("pk", flat=True).iterator()
    )


def request_refresh(*, manual_id: int) -> bool:
    """Queue a quiet conditional re-download of a ready manual."""
    return _mark_and_enqueue(manual_id, Q(status=Status.READY), "apps.manuals.tasks.refresh_manual")


def request_reextract(*, manual_id: int) -> bool:
    """Queue reading the stored original again (after a reader upgrade, say)."""
    stored = Q(status__in=[Status.READY, Status.FAILED]) & ~Q(stored_file="")
    return _mark_and_enqueue(manual_id, stored, "apps.manuals.tasks.reextract_manual")


def fetch_now(*, manual_id: int) -> bool:
    """The admin's "fetch now": refresh a ready manual, retry any other at once."""
    if Manual.objects.filter(pk=manual_id, status=Status.READY).exists():
        return request_refresh(manual_id=manual_id)
    return request_prefetch(manual_id=manual_id, force=True)


def _mark_and_enqueue(manual_id: int, condition: Q, task: str) -> bool:
    now = timezone.now()
    with transaction.atomic():
        marked = (
            Manual.objects.filter(condition, pk=manual_id)
            .filter(expired(now))
            .update(lease_token="", lease_until=lease_expiry(now))
        )
        if marked:
            enqueue(task, manual_id)
    return bool(marked)
