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
    """The catalog's part of the protocol's product object (PROTOCOL.md, `prediction`).

    Reads `brand` through the relation, so a caller that used `select_related("brand")` pays
    no extra query. The documents part (`manual`, `documents`) is the manuals app's to add.
    """
    return {
        "id": product.catalog_id,
        "name": product.name,
        "brand": product.brand.name,
        "category": product.category,
        "image_url": product.image_url,
        "price": f"{product.price:.2f}" if product.price is not None else None,
        "currency": product.currency,
        "url": product.product_url,
        "family": product.family.name if product.family_id is not None else None,
    }


def product_names(*, product: Product) -> list[str]:
    """Every name the product goes by: model, brand, catalog id, family and aliases.

    Words of these in a question name the product; they are not what the customer asks.
    """
    names = [product.name, product.brand.name, product.catalog_id]
    if product.family_id is not None:
        names.append(product.family.name)
    names.extend(product.aliases.values_list("alias", flat=True))
    return names
