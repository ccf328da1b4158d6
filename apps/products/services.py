"""Writes to the catalog."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from apps.products.models import (
    Brand,
    BrandAlias,
    CatalogStamp,
    Family,
    Product,
    ProductMerge,
    TermAlias,
)
from apps.products.prediction.registry import load_cards
from apps.products.selectors import CATALOG_VERSION


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
    CATALOG_VERSION.move(version)
    return version


def regenerate_product_cache() -> int:
    """Make every process rebuild its prediction index, and put the new version's product
    cards in the shared cache, where those rebuilds look first. Returns how many cards.

    The bump also catches catalog edits that bypassed it (bulk SQL, a restored backup). No
    index is built here: the worker and the commands that run this never predict.
    """
    return len(load_cards(version=bump_catalog_version()))


HEBREW_ALIASES = Path(__file__).resolve().parent / "data" / "hebrew_aliases.json"


@dataclass(frozen=True)
class AliasSeedResult:
    brand_aliases: int
    term_aliases: int
    brands_without_alias: list[str]
    unknown_brands: list[str]


def seed_hebrew_aliases(*, path: Path = HEBREW_ALIASES) -> AliasSeedResult:
    """Add the curated Hebrew brand, model and product words (`path`) that are not there yet.

    Staff edits win: an alias that exists keeps what staff made it mean, and one staff
    deleted comes back only when this runs again. Bumps the catalog version once.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        brands: dict[str, dict[str, Any]] = data["brands"]
        terms = [
            *((alias, means, TermAlias.Kind.MODEL) for alias, means in data["models"].items()),
            *((alias, means, TermAlias.Kind.WORD) for alias, means in data["words"].items()),
            *(
                (alias, means, TermAlias.Kind.CATEGORY)
                for alias, means in data["categories"].items()
            ),
        ]
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise ValueError(f"{path}: not a Hebrew alias file ({error})") from error
    by_slug = {brand.slug: brand for brand in Brand.objects.all()}
    added_brand = added_term = 0
    with transaction.atomic():
        for slug, entry in brands.items():
            brand = by_slug.get(slug)
            if brand is None:
                continue
            for alias in entry["he"]:
                _, created = BrandAlias.objects.get_or_create(
                    brand=brand, alias=alias.strip(), defaults={"means": entry["means"]}
                )
                added_brand += created
        for alias, means, kind in terms:
            _, created = TermAlias.objects.get_or_create(
                alias=alias.strip(), defaults={"means": means, "kind": kind}
            )
            added_term += created
        bump_catalog_version()
    with_alias = set(BrandAlias.objects.values_list("brand__slug", flat=True))
    return AliasSeedResult(
        brand_aliases=added_brand,
        term_aliases=added_term,
        brands_without_alias=sorted(set(by_slug) - with_alias),
        unknown_brands=sorted(set(brands) - set(by_slug)),
    )


# Fields a catalog import writes: an admin edit of one of them locks it against imports.
IMPORTED_FIELDS = frozenset(
    {"name", "brand", "category", "sku", "description", "price", "currency", "raw_price"}
    | {"product_url", "image_url", "specs", "needs_review", "review_reason", "family"}
    | {"is_active"}
)


def lock_staff_edits(*, product: Product, fields: Iterable[str]) -> list[str]:
    """Remember which imported fields staff changed, so the next import leaves them alone.

    Sets `locked_fields` on the instance; the caller saves it (the admin does, with the edit).
    """
    return product.lock([name for name in fields if name in IMPORTED_FIELDS])


def split_merge(*, merge: ProductMerge, by: str) -> ProductMerge:
    """Undo a merge: the merged listing is a product of its own again, and stays one.

    The row is kept with status `split`, which later imports read as a staff decision.
    The kept product loses the catalog links it got only through the merge (the merged
    record's documentation); the next import links whatever its own record lists.
    """
    with transaction.atomic():
        merge = (
            ProductMerge.objects.select_for_update()
            .select_related("kept", "merged")
            .get(pk=merge.pk)
        )
        if merge.status == ProductMerge.Status.SPLIT:
            return merge
        merged = merge.merged
        merged.is_active = True
        merged.merged_into = None
        merged.save(update_fields=["is_active", "merged_into", "updated_at"])
        urls = [
            source["documentation"]
            for source in merge.sources
            if source.get("id") == merged.catalog_id and source.get("documentation")
        ]
        if urls:
            # Through the relation: the catalog app does not import the manuals app.
            merge.kept.document_links.filter(origin="catalog", manual__source_url__in=urls).delete()
        merge.status = ProductMerge.Status.SPLIT
        merge.split_at = timezone.now()
        merge.split_by = by[:150]
        merge.save(update_fields=["status", "split_at", "split_by"])
        bump_catalog_version()
    return merge


def merge_rank(product: Product) -> tuple:
    """Which of several listings a staff merge keeps: the shop's (SKU, page, price)."""
    return (not product.sku, not product.product_url, product.price is None, product.pk)


def merge_products(*, products: list[Product], by: str) -> tuple[Product, list[ProductMerge]]:
    """Staff merge: the best listing is kept, the others point at it and stop being
    predicted; their documents serve the kept product. Splittable like an import's merge."""
    if len(products) < 2:
        raise ValueError("choose at least two products to merge")
    kept, *others = sorted(products, key=merge_rank)
    merges: list[ProductMerge] = []
    with transaction.atomic():
        for other in others:
            other.merged_into = kept
            other.is_active = False
            other.lock(["is_active"])
            other.save(update_fields=["merged_into", "is_active", "locked_fields", "updated_at"])
            for link in other.document_links.all():
                kept.document_links.get_or_create(
                    manual_id=link.manual_id,
                    defaults={"origin": link.origin, "provenance": link.provenance},
                )
            merge, _ = ProductMerge.objects.update_or_create(
                kept=kept,
                merged=other,
                defaults={
                    "status": ProductMerge.Status.MERGED,
                    "origin": ProductMerge.Origin.STAFF,
                    "reason": f"merged by {by} in the admin",
                    "split_at": None,
                    "split_by": "",
                },
            )
            merges.append(merge)
        bump_catalog_version()
    return kept, merges


def make_family(*, products: list[Product], name: str = "") -> Family:
    """Staff make one family of these variants (of one brand); imports then leave their
    family alone."""
    if len(products) < 2:
        raise ValueError("choose at least two products for a family")
    brands = {product.brand_id for product in products}
    if len(brands) != 1:
        raise ValueError("a family's products are of one brand")
    base = min(products, key=lambda product: (len(product.name), product.pk))
    name = (name or base.name)[:300]
    slug = base_slug = slugify(f"{base.brand.slug} {name}")[:190] or f"family-{base.pk}"
    suffix = 1
    while Family.objects.filter(slug=slug).exists():
        suffix += 1
        slug = f"{base_slug}-{suffix}"
    with transaction.atomic():
        family = Family.objects.create(slug=slug, name=name, brand_id=base.brand_id)
        for product in products:
            product.family = family
            product.lock(["family"])
            product.save(update_fields=["family", "locked_fields", "updated_at"])
        bump_catalog_version()
    return family
