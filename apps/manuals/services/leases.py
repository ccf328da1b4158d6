"""Leases: who may work on a manual right now, decided by conditional UPDATEs.

A claim stamps the row with a token and an expiry; every later write checks the token, so a
worker whose lease ran out (it died, or stalled) cannot overwrite the one that took over.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.manuals.models import Manual

IN_FLIGHT = (Manual.Status.QUEUED, Manual.Status.FETCHING, Manual.Status.EXTRACTING)


class ManualBusy(Exception):
    """Another process holds this manual's lease; try again after `retry_in` seconds."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"manual is being processed elsewhere; retry in {retry_in:.0f}s")
        self.retry_in = retry_in


class ManualTransientError(Exception):
    """The download failed in a way that may pass (timeout, 5xx); the task retries it."""


def lease_expiry(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.MANUAL_LEASE_SECONDS)


def expired(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def unheld(now: datetime) -> Q:
    return Q(lease_token="") | expired(now)


def claim(manual_id: int, condition: Q, *, now: datetime, **changes: Any) -> str | None:
    token = uuid.uuid4().hex
    claimed = Manual.objects.filter(condition, pk=manual_id).update(
        lease_token=token, lease_until=lease_expiry(now), **changes
    )
    return token if claimed else None


def update_held(manual_id: int, token: str, **changes: Any) -> bool:
    """Apply `changes` and renew the lease, if we still hold it."""
    return bool(
        Manual.objects.filter(pk=manual_id, lease_token=token).update(
            lease_until=lease_expiry(timezone.now()), **changes
        )
    )


def release(manual_id: int, token: str, *, status: str) -> None:
    # The lease stays as a queue lease, so a request meanwhile does not queue a duplicate.
    Manual.objects.filter(pk=manual_id, lease_token=token).update(
        status=status, lease_token="", lease_until=lease_expiry(timezone.now())
    )


def busy_or_settled(manual_id: int, now: datetime) -> Manual:
    manual = Manual.objects.get(pk=manual_id)
    if manual.status in IN_FLIGHT and manual.lease_token:
        raise ManualBusy(seconds_left(manual_id, now))
    return manual


def seconds_left(manual_id: int, now: datetime) -> float:
    until = Manual.objects.values_list("lease_until", flat=True).get(pk=manual_id)
    return max(1.0, (until - now).total_seconds() + 1) if until else 1.0
