"""Reads of the catalog."""

from __future__ import annotations

from typing import Any

from apps.products.models import CatalogStamp, Product
from hscjit import cache

CATALOG_VERSION_KEY = "catalog:version"


def _stamp() -> int:
    return CatalogStamp.objects.order_by("pk").values_list("version", flat=True).first() or 0


# The shared cache answers cheaply; the stamp row is the truth when the cache is cold.
CATALOG_VERSION = cache.Version(CATALOG_VERSION_KEY, durable=_stamp)


def current_catalog_version() -> int:
    """The catalog version every process compares its prediction index with."""
    return int(CATALOG_VERSION.current())


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
