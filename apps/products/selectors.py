"""Reads of the catalog."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from apps.products.models import CatalogStamp, Product

CATALOG_VERSION_KEY = "catalog:version"
VERSION_FALLBACK_TTL = 5


def current_catalog_version() -> int:
    """The catalog version every process compares its prediction index with.

    The shared cache answers cheaply; the database row is the truth when the cache is cold.
    """
    cached = cache.get(CATALOG_VERSION_KEY)
    if cached is not None:
        return int(cached)
    version = CatalogStamp.objects.order_by("pk").values_list("version", flat=True).first() or 0
    # Briefly: a bump that commits while this read is in flight must not be hidden for long.
    cache.set(CATALOG_VERSION_KEY, version, timeout=VERSION_FALLBACK_TTL)
    return version


def product_card(*, product: Product) -> dict[str, Any]:
    """The protocol's product object (PROTOCOL.md, `prediction`).

    Reads `brand` and `manual` through the relations, so a caller that used
    `select_related("brand", "manual")` pays no extra query.
    """
    manual = product.manual
    return {
        "id": product.catalog_id,
        "name": product.name,
        "brand": product.brand.name,
        "category": product.category,
        "image_url": product.image_url,
        "price": f"{product.price:.2f}" if product.price is not None else None,
        "currency": product.currency,
        "url": product.product_url,
        "manual": (
            {"id": manual.pk, "status": manual.status, "pages": manual.page_count}
            if manual is not None
            else None
        ),
    }


def products_with_manuals(*, limit: int = 8) -> list[Product]:
    """Active products whose manual is known, for the landing page's "try asking about"."""
    query = (
        Product.objects.filter(is_active=True, manual__isnull=False)
        .select_related("brand", "manual")
        .order_by("brand__name", "name")
    )
    return list(query[:limit])
