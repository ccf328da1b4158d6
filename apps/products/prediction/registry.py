"""The process-wide index, kept in step with the catalog version.

A keystroke must not wait for the database, so `get_index()` returns the index it has and,
at most every CHECK_INTERVAL seconds, asks a background thread to compare the catalog
version with the one the index was built from. When it changed, the thread builds a new
index and swaps it in with one assignment; predictions in flight finish on the old one.
`VersionedHolder` does this for anything built from the database under a version (the chat
socket's product cards use it too).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from django.db import close_old_connections
from django.db.models import Count

from apps.products.models import BrandAlias, Product, ProductAlias, TermAlias
from apps.products.prediction.hebrew import HebrewLexicon
from apps.products.prediction.index import CatalogRecord, PredictionIndex
from apps.products.selectors import current_catalog_version, product_card
from hscjit import cache

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 0.5


class Versioned(Protocol):
    @property
    def version(self) -> Hashable: ...


V = TypeVar("V", bound=Versioned)


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


class VersionedHolder(Generic[V]):
    """One built value and the bookkeeping that keeps it at the current version."""

    def __init__(
        self,
        *,
        build: Callable[[], V],
        version: Callable[[], Hashable],
        interval: float = CHECK_INTERVAL,
        name: str = "prediction-index",
    ) -> None:
        self._build = build
        self._version = version
        self._interval = interval
        self._name = name
        self._index: V | None = None
        self._checked_at = 0.0
        self._checking = False
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def get(self) -> V:
        index = self._index
        if index is None:
            # The first caller builds in its own thread (it must be allowed to query).
            with self._lock:
                if self._index is None:
                    self._index = self._build()
                    self._checked_at = time.monotonic()
                return self._index
        if time.monotonic() - self._checked_at >= self._interval and not self._checking:
            with self._lock:
                if not self._checking:
                    self._checking = True
                    self._checked_at = time.monotonic()
                    self._executor.submit(self._check_in_background)
        return index

    def refresh(self) -> V:
        """Compare versions now and rebuild if the version moved; returns the current value."""
        current = self._index
        if current is None or self._version() != current.version:
            self._index = self._build()
        self._checked_at = time.monotonic()
        return self._index

    def _check_in_background(self) -> None:
        close_old_connections()
        try:
            self.refresh()
        except Exception:
            # The old index keeps serving; the next check tries again.
            logger.exception("could not rebuild the %s", self._name)
        finally:
            self._checking = False
            close_old_connections()


_holder: VersionedHolder[PredictionIndex] = VersionedHolder(
    build=build_index, version=current_catalog_version
)


def get_index() -> PredictionIndex:
    """This process's index; at most CHECK_INTERVAL seconds behind the catalog version.

    The first call builds the index and queries the database: make it from sync code
    (a consumer's connect does it through `database_sync_to_async`).
    """
    return _holder.get()


def refresh_index() -> PredictionIndex:
    """Bring this process's index up to date now (commands and tests)."""
    return _holder.refresh()
