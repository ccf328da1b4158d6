"""The process-wide index, kept in step with the catalog version.

A keystroke must not wait for the database, so the index is held by a
`hscjit.cache.VersionedHolder`: `get_index()` returns the index it has, and a background
thread rebuilds it when the catalog version moved (at most every CHECK_INTERVAL seconds).
"""

from __future__ import annotations

import gc
from typing import Any

from django.db.models import Count

from apps.products.models import BrandAlias, Product, ProductAlias, TermAlias
from apps.products.prediction import words
from apps.products.prediction.hebrew import HebrewLexicon
from apps.products.prediction.index import CatalogRecord, PredictionIndex
from apps.products.selectors import current_catalog_version, product_card
from hscjit import cache


def load_lexicon() -> HebrewLexicon:
    """The brand and term aliases staff keep, as prediction reads them (two queries)."""
    pairs = list(BrandAlias.objects.values_list("alias", "means"))
    pairs += TermAlias.objects.values_list("alias", "means")
    return HebrewLexicon(pairs)


def load_records() -> list[CatalogRecord]:
    """Every active product, as the index reads it (three queries, no model instances).

    The names of listings merged into a product are its aliases: a customer may still use
    the vendor's name for the shop's listing.
    """
    aliases: dict[int, list[str]] = {}
    for product_pk, alias in ProductAlias.objects.filter(product__is_active=True).values_list(
        "product_id", "alias"
    ):
        aliases.setdefault(product_pk, []).append(alias)
    for product_pk, name in Product.objects.filter(
        merged_into__isnull=False, merged_into__is_active=True, is_active=False
    ).values_list("merged_into_id", "name"):
        aliases.setdefault(product_pk, []).append(name)
    rows = list(
        Product.objects.filter(is_active=True)
        .annotate(documents=Count("document_links"))
        .order_by("pk")
        .values_list(
            "pk", "catalog_id", "name", "brand__name", "sku", "family_id", "documents", "price"
        )
    )
    return [
        CatalogRecord(
            pk=pk,
            product_id=catalog_id,
            name=name,
            brand=brand,
            sku=sku,
            aliases=tuple(aliases.get(pk, ())),
            family=family,
            representative=pk in representatives,
        )
        for representatives in [family_representatives(rows)]
        for pk, catalog_id, name, brand, sku, family, _documents, _price in rows
    ]


def family_representatives(rows: list[tuple]) -> set[int]:
    """The member that stands for each family when the words fit every variant: the one
    with a document of its own, then one with a price, then the shortest name (the plain
    model, not a colour), then the oldest."""
    best: dict[int, tuple] = {}
    for pk, _cid, name, _brand, _sku, family, documents, price in rows:
        if family is None:
            continue
        rank = (documents == 0, price is None, len(name), pk)
        if family not in best or rank < best[family]:
            best[family] = rank
    return {rank[-1] for rank in best.values()}


CARDS_PREFIX = "product_cards"


def load_cards(*, version: int) -> dict[int, dict[str, Any]]:
    """Every active product's card, shared by all processes through the two-layer cache.

    Keyed by catalog version, so the first process to rebuild after a change reads the
    database and the others (and the hourly warm-up) find the cards in Redis.
    """
    key = f"{CARDS_PREFIX}:{version}"
    found = cache.get(key)
    if found is None:
        products = Product.objects.filter(is_active=True).select_related("brand", "family")
        found = {product.pk: product_card(product=product) for product in products}
        cache.set(key, found)
    return found


def build_index(*, version: int | None = None) -> PredictionIndex:
    # Read the version first: an edit committed during the load bumps it again, so the
    # next check rebuilds rather than keeping an index that missed the edit.
    version = current_catalog_version() if version is None else version
    words.load()
    index = PredictionIndex(
        load_records(),
        version=version,
        cards=load_cards(version=version),
        lexicon=load_lexicon(),
    )
    # The index lives until the next catalog version: take it (and the process's other
    # long-lived objects) out of the cyclic collector's full passes, which otherwise stop the
    # event loop for tens of milliseconds walking it. Refcounting still frees it later.
    gc.freeze()
    return index


_holder: cache.VersionedHolder[PredictionIndex] = cache.VersionedHolder(
    build=build_index, version=current_catalog_version, name="prediction index"
)


def get_index() -> PredictionIndex:
    """This process's index; at most `cache.CHECK_INTERVAL` seconds behind the catalog version.

    The first call builds the index and queries the database: make it from sync code
    (a consumer's connect does it through `database_sync_to_async`).
    """
    return _holder.get()


def refresh_index() -> PredictionIndex:
    """Bring this process's index up to date now (commands and tests)."""
    return _holder.refresh()
