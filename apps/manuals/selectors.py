"""Reads of manuals: the status payload clients see, and the manuals a command should fetch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from apps.manuals.models import Manual


def manual_status_payload(*, manual: Manual) -> dict[str, Any]:
    """The protocol's `manual_status` fields, except `product_id` (the consumer knows it)."""
    ready = manual.status == Manual.Status.READY
    return {
        "manual_id": manual.pk,
        "status": manual.status,
        "progress": 1.0 if ready else round(max(0.0, min(1.0, manual.progress)), 3),
        "pages": manual.page_count,
        # The error is for customers only once the manual has failed; a quiet refresh that
        # failed keeps the manual ready and its note is for staff.
        "error": (manual.error or None) if manual.status == Manual.Status.FAILED else None,
    }


# Moves (to a new random token) after every published status change, in whichever process.
MANUAL_STATES_VERSION_KEY = "manual-states-version"


@dataclass(frozen=True)
class ManualStates:
    """Every manual's status and page count, as one process last read them."""

    version: str | None
    by_id: dict[int, tuple[str, int | None]]

    def card_part(self, manual_id: int | None) -> dict[str, Any] | None:
        """The `manual` object of a product card (PROTOCOL.md)."""
        if manual_id is None:
            return None
        status, pages = self.by_id.get(manual_id, (Manual.Status.MISSING, None))
        return {"id": manual_id, "status": status, "pages": pages}


def manual_states_version() -> str | None:
    return cache.get(MANUAL_STATES_VERSION_KEY)


def manual_states() -> ManualStates:
    # Version first: a change published during the read moves it again, so the next check
    # reads once more rather than keeping states that missed the change.
    version = manual_states_version()
    rows = Manual.objects.values_list("pk", "status", "page_count")
    return ManualStates(version=version, by_id={pk: (status, pages) for pk, status, pages in rows})


def manuals_to_prefetch(
    *, brand: str | None = None, status: str | None = None, everything: bool = False
) -> QuerySet[Manual]:
    """Manuals a bulk prefetch should queue: by default those never fetched or failed."""
    manuals = Manual.objects.all()
    if brand:
        manuals = manuals.filter(products__brand__slug=brand) | manuals.filter(
            products__brand__name__iexact=brand
        )
    if status:
        manuals = manuals.filter(status=status)
    elif not everything:
        manuals = manuals.filter(status__in=[Manual.Status.MISSING, Manual.Status.FAILED])
    return manuals.distinct().order_by("pk")
