"""Status changes everyone must see: failures, and the pushes to the manual's group."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.manuals import broadcast
from apps.manuals.models import Manual
from apps.manuals.selectors import MANUAL_STATES_VERSION, manual_status_payload
from hscjit.background import after_commit

logger = logging.getLogger(__name__)
Status = Manual.Status

NO_SOURCE = (
    "No manual can be downloaded for this product yet: it has neither a link nor an uploaded file."
)
INTERNAL = "The manual could not be prepared because of an error on our side."


def manual_group(manual_id: int) -> str:
    return f"manual-status.{manual_id}"


def publish_status(*, manual: Manual) -> None:
    """Tell every consumer watching this manual, and every process's product cards, once the
    current transaction commits."""
    message = {"type": "manual.status", **manual_status_payload(manual=manual)}
    group = manual_group(manual.pk)

    def publish() -> None:
        MANUAL_STATES_VERSION.publish()
        broadcast.group_send(group, message)

    after_commit(publish)


def documents_changed() -> None:
    """Which documents a product has moved: every process re-reads them after the commit."""
    MANUAL_STATES_VERSION.move()


def fail(manual_id: int, token: str, reason: str, *, quiet: bool) -> Manual:
    """Record why; a quiet refresh keeps the manual ready with the pages it had."""
    retry_after = timezone.now() + timedelta(seconds=settings.MANUAL_FAILED_RETRY_SECONDS)
    changes: dict[str, Any] = {"error": reason}
    if not quiet:
        changes.update(status=Status.FAILED, progress=0.0)
    with transaction.atomic():
        Manual.objects.filter(pk=manual_id, lease_token=token).update(
            lease_token="", lease_until=retry_after, **changes
        )
        manual = Manual.objects.get(pk=manual_id)
        if not quiet:
            publish_status(manual=manual)
    logger.info("manual %s failed: %s", manual_id, reason)
    return manual


def fail_without_source(manual: Manual) -> Manual:
    with transaction.atomic():
        changed = (
            Manual.objects.filter(pk=manual.pk)
            .exclude(status=Status.FAILED, error=NO_SOURCE)
            .update(status=Status.FAILED, error=NO_SOURCE, progress=0.0)
        )
        manual.refresh_from_db()
        if changed:
            publish_status(manual=manual)
    return manual


def has_source(manual: Manual) -> bool:
    return bool(manual.uploaded_file or manual.source_url)
