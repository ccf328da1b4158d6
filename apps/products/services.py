"""Writes to the catalog."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.products.models import CatalogStamp
from apps.products.selectors import CATALOG_VERSION_KEY
from hscjit.background import after_commit


def bump_catalog_version() -> int:
    """Mark the catalog changed, so every process rebuilds its prediction index."""
    with transaction.atomic():
        stamp = CatalogStamp.objects.select_for_update().order_by("pk").first()
        if stamp is None:
            stamp = CatalogStamp.objects.create(version=0)
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
