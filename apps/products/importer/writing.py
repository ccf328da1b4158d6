"""Upserting checked records with a handful of bulk queries per file (documents: see
documents.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from apps.products.importer.documents import DocumentWriter
from apps.products.importer.identity import IdentityPlan
from apps.products.importer.reading import BrandRecord, CatalogFile, Rejection
from apps.products.importer.records import ProductRecord, Relationship
from apps.products.models import (
    Brand,
    Family,
    Product,
    ProductAlias,
    ProductMerge,
    ProductRelationship,
)

_CHUNK = 1000
T = TypeVar("T")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    brands_created: int = 0
    brands_updated: int = 0
    manuals_created: int = 0
    manuals_updated: int = 0
    aliases_created: int = 0
    documents_linked: int = 0
    discovery_targets: int = 0
    families_created: int = 0
    family_assignments: int = 0
    merged_away: int = 0
    merges_recorded: int = 0
    relationships_created: int = 0
    relationships_updated: int = 0

    @property
    def changed_anything(self) -> bool:
        return any(value for key, value in vars(self).items() if key != "unchanged")


@dataclass
class WriteOutcome:
    counts: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    # Imported records whose relationship could not be made (the target is unknown).
    unresolved: list[Rejection] = field(default_factory=list)
    # catalog id -> file name of a manual that ships with the catalog (the demo's).
    bundled_files: dict[str, str] = field(default_factory=dict)


def _source(record: ProductRecord) -> dict[str, Any]:
    doc = record.documentation
    return {
        "id": record.catalog_id,
        "file": record.file,
        "position": record.position,
        "name": record.fields["name"],
        "sku": record.fields.get("sku", ""),
        "product_url": record.fields.get("product_url", ""),
        "documentation": doc.url if doc is not None else "",
    }


def chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def apply_changes(obj: Any, fields: dict[str, Any]) -> list[str]:
    """Set the fields that differ; return their names."""
    changed = [name for name, value in fields.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, fields[name])
    return changed


class CatalogWriter:
    """Holds the rows an import touches, loaded once, and writes one file at a time."""

    def __init__(
        self,
        files: list[CatalogFile],
        plan: IdentityPlan | None = None,
        *,
        documents: DocumentWriter,
    ) -> None:
        self.files = files
        self.plan = plan or IdentityPlan()
        self.documents = documents
        self.outcome = WriteOutcome()
        self.load_existing()

    def load_existing(self) -> None:
        """One query per table for every row this import can touch."""
        slugs = {b.slug for f in self.files for b in f.brands} | {
            r.brand_slug for f in self.files for r in f.records
        }
        ids = [r.catalog_id for f in self.files for r in f.records]
        self.brands: dict[str, Brand] = {
            b.slug: b for b in Brand.objects.filter(slug__in=sorted(slugs))
        }
        self.products: dict[str, Product] = {}
        for chunk in chunks(ids):
            query = Product.objects.filter(catalog_id__in=chunk)
            self.products.update((p.catalog_id, p) for p in query)
        self.aliases: set[tuple[int, str]] = set()
        pks = [p.pk for p in self.products.values()]
        for start in range(0, len(pks), _CHUNK):
            self.aliases.update(
                ProductAlias.objects.filter(product_id__in=pks[start : start + _CHUNK]).values_list(
                    "product_id", "alias"
                )
            )
        self.documents.load((r for f in self.files for r in f.records), self.products)

    def write_file(self, catalog_file: CatalogFile) -> None:
        """Write one file's brands, products, documents and aliases: all of it or none of it."""
        try:
            with transaction.atomic():
                self._brands(catalog_file.brands)
                records = self._records_with_brand(catalog_file.records)
                self._products(records)
                self.documents.write(
                    records, products=self.products, plan=self.plan, counts=self.outcome.counts
                )
                self._aliases(records)
        except Exception:
            self.documents.forget(catalog_file.records)
            raise

    def _brands(self, brands: list[BrandRecord]) -> None:
        counts = self.outcome.counts
        for record in brands:
            brand = self.brands.get(record.slug)
            if brand is None:
                self.brands[record.slug] = Brand.objects.create(slug=record.slug, **record.fields)
                counts.brands_created += 1
            elif changed := apply_changes(brand, record.fields):
                brand.save(update_fields=[*changed, "updated_at"])
                counts.brands_updated += 1

    def _records_with_brand(self, records: list[ProductRecord]) -> list[ProductRecord]:
        missing = {r.brand_slug for r in records} - set(self.brands)
        if missing:
            self.brands.update((b.slug, b) for b in Brand.objects.filter(slug__in=missing))
        kept = []
        for record in records:
            if record.brand_slug in self.brands:
                kept.append(record)
            else:
                self.outcome.rejections.append(
                    Rejection(
                        record.file,
                        record.position,
                        record.raw_id,
                        f"brand {record.brand_slug!r} is not in the catalog",
                    )
                )
        return kept

    def _products(self, records: list[ProductRecord]) -> None:
        counts = self.outcome.counts
        now = timezone.now()
        to_create: list[Product] = []
        to_update: list[Product] = []
        changed_fields: set[str] = set()
        for record in records:
            product = self.products.get(record.catalog_id)
            # Ids, not instances: comparing `product.brand` would load each brand.
            fields = {**record.fields, "brand_id": self.brands[record.brand_slug].pk}
            doc = record.documentation
            if doc is not None and doc.file:
                self.outcome.bundled_files[record.catalog_id] = doc.file
            if product is None:
                to_create.append(Product(catalog_id=record.catalog_id, **fields))
                continue
            # What staff changed in the admin stays as they left it.
            for name in product.locked_fields:
                fields.pop(name, None)
            if changed := apply_changes(product, fields):
                product.updated_at = now
                changed_fields.update(changed)
                to_update.append(product)
            else:
                counts.unchanged += 1
        if to_create:
            for product in Product.objects.bulk_create(to_create, batch_size=500):
                self.products[product.catalog_id] = product
            counts.created += len(to_create)
        if to_update:
            names = sorted(name.removesuffix("_id") for name in changed_fields)
            Product.objects.bulk_update(to_update, [*names, "updated_at"], batch_size=500)
            counts.updated += len(to_update)

    def _aliases(self, records: list[ProductRecord]) -> None:
        new = []
        for record in records:
            pk = self.products[record.catalog_id].pk
            for alias in record.aliases:
                if (pk, alias) not in self.aliases:
                    self.aliases.add((pk, alias))
                    new.append(ProductAlias(product_id=pk, alias=alias))
        if new:
            ProductAlias.objects.bulk_create(new, batch_size=500)
            self.outcome.counts.aliases_created += len(new)

    def write_identity(self) -> None:
        """Apply the identity plan once every product exists: families, merges, their
        documents. Staff-locked fields (`family`, `is_active`) are left alone."""
        plan = self.plan
        if not plan.families and not plan.merged_into:
            return
        records = {r.catalog_id: r for f in self.files if f.error is None for r in f.records}
        with transaction.atomic():
            families = self._families()
            changed: list[Product] = []
            for catalog_id in records:
                product = self.products.get(catalog_id)
                if product is None:
                    continue
                if self._place(product, families.get(plan.family_of.get(catalog_id, ""))):
                    changed.append(product)
            if changed:
                Product.objects.bulk_update(
                    changed, ["family", "merged_into", "is_active", "updated_at"], batch_size=500
                )
            self._merge_rows(records)
            self.documents.write_family_documents(
                records,
                products=self.products,
                families=families,
                plan=plan,
                counts=self.outcome.counts,
            )

    def _families(self) -> dict[str, Family]:
        plans = self.plan.families
        found = {f.slug: f for f in Family.objects.filter(slug__in=sorted(plans))}
        # A family staff renamed keeps its name: the import only names new ones.
        new = [
            Family(slug=p.slug, name=p.name, brand=self.brands[p.brand_slug])
            for p in plans.values()
            if p.slug not in found and p.brand_slug in self.brands
        ]
        if new:
            found.update((f.slug, f) for f in Family.objects.bulk_create(new))
            self.outcome.counts.families_created += len(new)
        return found

    def _place(self, product: Product, family: Family | None) -> bool:
        locked = set(product.locked_fields)
        changed = False
        if family is not None and "family" not in locked and product.family_id != family.pk:
            product.family_id = family.pk
            self.outcome.counts.family_assignments += 1
            changed = True
        kept_id = self.plan.merged_into.get(product.catalog_id)
        kept = self.products.get(kept_id) if kept_id else None
        if kept is not None and product.merged_into_id != kept.pk:
            product.merged_into_id = kept.pk
            self.outcome.counts.merged_away += 1
            changed = True
        if kept is not None and product.is_active and "is_active" not in locked:
            product.is_active = False
            changed = True
        if changed:
            product.updated_at = timezone.now()
        return changed

    def _merge_rows(self, records: dict[str, ProductRecord]) -> None:
        """One ProductMerge per merged listing: what staff see, and what they can split."""
        pairs = {
            (self.products[kept].pk, self.products[merged].pk): (kept, merged)
            for merged, kept in self.plan.merged_into.items()
            if kept in self.products and merged in self.products
        }
        existing = set(
            ProductMerge.objects.filter(merged_id__in=[m for _k, m in pairs]).values_list(
                "kept_id", "merged_id"
            )
        )
        new = [
            ProductMerge(
                kept_id=kept_pk,
                merged_id=merged_pk,
                reason=self.plan.reasons[merged],
                sources=[_source(records[kept]), _source(records[merged])],
            )
            for (kept_pk, merged_pk), (kept, merged) in sorted(pairs.items())
            if (kept_pk, merged_pk) not in existing
        ]
        if new:
            ProductMerge.objects.bulk_create(new)
            self.outcome.counts.merges_recorded += len(new)

    def write_relationships(self) -> None:
        """Link products once all exist: a target may sit in any file, or only in the database."""
        records = [r for f in self.files if f.error is None for r in f.records if r.relationships]
        if not records:
            return
        targets = {rel.target_id for r in records for rel in r.relationships}
        pks = {cid: p.pk for cid, p in self.products.items()}
        missing = sorted(targets - set(pks))
        for chunk in chunks(missing):
            pks.update(Product.objects.filter(catalog_id__in=chunk).values_list("catalog_id", "pk"))
        sources = [pks[r.catalog_id] for r in records if r.catalog_id in pks]
        existing = {
            (rel.source_id, rel.target_id, rel.kind): rel
            for rel in ProductRelationship.objects.filter(source_id__in=sources)
        }
        new: list[ProductRelationship] = []
        with transaction.atomic():
            for record in records:
                source = pks.get(record.catalog_id)
                if source is None:
                    continue
                for rel in record.relationships:
                    self._relationship(record, source, rel, pks, existing, new)
            ProductRelationship.objects.bulk_create(new)
        self.outcome.counts.relationships_created += len(new)

    def _relationship(
        self,
        record: ProductRecord,
        source: int,
        rel: Relationship,
        pks: dict[str, int],
        existing: dict[tuple[int, int, str], ProductRelationship],
        new: list[ProductRelationship],
    ) -> None:
        target = pks.get(rel.target_id)
        problem = None
        if target is None:
            problem = f"relationship target {rel.target_id!r} is not in the catalog"
        elif target == source:
            problem = "a product cannot be related to itself"
        if problem:
            self.outcome.unresolved.append(
                Rejection(record.file, record.position, record.raw_id, problem)
            )
            return
        key = (source, target, rel.kind)
        current = existing.get(key)
        if current is None:
            existing[key] = ProductRelationship(
                source_id=source, target_id=target, kind=rel.kind, label=rel.label
            )
            new.append(existing[key])
        elif current.pk is not None and current.label != rel.label:
            current.label = rel.label
            current.save(update_fields=["label"])
            self.outcome.counts.relationships_updated += 1
