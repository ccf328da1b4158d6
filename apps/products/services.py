"""Writes to the catalog."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.products.models import CatalogStamp
from apps.products.selectors import CATALOG_VERSION_KEY
from hscjit.background import after_commit

if TYPE_CHECKING:
    from apps.sessions.services import WarmResult


def bump_catalog_version() -> int:
    """Mark the catalog changed, so every process rebuilds its prediction index."""
    with transaction.atomic():
        stamp = CatalogStamp.objects.select_for_update().order_by("pk").first()
        if stamp is None:
            # Start from the clock, not 0: a stamp made again (an emptied table, a restored
            # backup) must not repeat a number that processes and caches already know.
            stamp = CatalogStamp.objects.create(version=time.time_ns() // 1_000_000)
        # F() keeps two concurrent bumps from writing the same number.
        CatalogStamp.objects.filter(pk=stamp.pk).update(
            version=F("version") + 1, changed_at=timezone.now()
        )
        version = CatalogStamp.objects.values_list("version", flat=True).get(pk=stamp.pk)
    # Readers in this transaction fall back to the row; others learn the number once it is
    # committed, so no process rebuilds its index from rows it cannot see yet.
    cache.delete(CATALOG_VERSION_KEY)
    after_commit(lambda: cache.set(CATALOG_VERSION_KEY, version))
    return version


def regenerate_product_cache(*, warm_limit: int) -> WarmResult:
    """Rebuild the prediction index in every process, then warm the busiest product cards.

    The bump also catches catalog edits that bypassed it (bulk SQL, a restored backup).
    """
    # Imported here: the chat app builds on the catalog, so the catalog must not import it
    # at load time.
    from apps.products.prediction import refresh_index
    from apps.sessions.services import warm_product_cards

    bump_catalog_version()
    refresh_index()
    return warm_product_cards(limit=warm_limit)
