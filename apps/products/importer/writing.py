"""Upserting checked records with a handful of bulk queries per file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.manuals.models import DiscoverySource, DiscoveryTarget, DocumentLink, Manual
from apps.manuals.services.discovery import NOT_A_MANUAL
from apps.manuals.services.status import documents_changed
from apps.products.importer.reading import BrandRecord, CatalogFile, Rejection
from apps.products.importer.records import ProductRecord, Relationship
from apps.products.models import Brand, Product, ProductAlias, ProductRelationship

_CHUNK = 1000


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


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _apply(obj: Any, fields: dict[str, Any]) -> list[str]:
    """Set the fields that differ; return their names."""
    changed = [name for name, value in fields.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, fields[name])
    return changed


class CatalogWriter:
    """Holds the rows an import touches, loaded once, and writes one file at a time."""

    def __init__(self, files: list[CatalogFile]) -> None:
        self.files = files
        self.outcome = WriteOutcome()
        self.load_existing()

    def load_existing(self) -> None:
        """One query per table for every row this import can touch."""
        slugs = {b.slug for f in self.files for b in f.brands} | {
            r.brand_slug for f in self.files for r in f.records
        }
        urls = [
            r.documentation.url
            for f in self.files
            for r in f.records
            if r.documentation and r.documentation.url and not r.documentation.discover
        ]
        ids = [r.catalog_id for f in self.files for r in f.records]
        self.brands: dict[str, Brand] = {
            b.slug: b for b in Brand.objects.filter(slug__in=sorted(slugs))
        }
        self.manuals: dict[str, Manual] = {}
        for chunk in _chunks(sorted(set(urls))):
            self.manuals.update(
                (m.source_url, m) for m in Manual.objects.filter(source_url__in=chunk)
            )
        self.products: dict[str, Product] = {}
        for chunk in _chunks(ids):
            query = Product.objects.filter(catalog_id__in=chunk)
            self.products.update((p.catalog_id, p) for p in query)
        # product pk -> manual ids the catalog linked to it (staff links are not the importer's).
        self.links: dict[int, set[int]] = {}
        pks = [p.pk for p in self.products.values()]
        for start in range(0, len(pks), _CHUNK):
            for product_id, manual_id in DocumentLink.objects.filter(
                product_id__in=pks[start : start + _CHUNK]
            ).values_list("product_id", "manual_id"):
                self.links.setdefault(product_id, set()).add(manual_id)
        self.aliases: set[tuple[int, str]] = set()
        pks = [p.pk for p in self.products.values()]
        for start in range(0, len(pks), _CHUNK):
            self.aliases.update(
                ProductAlias.objects.filter(product_id__in=pks[start : start + _CHUNK]).values_list(
                    "product_id", "alias"
                )
            )

    def write_file(self, catalog_file: CatalogFile) -> None:
        """Write one file's brands, manuals, products and aliases: all of it or none of it."""
        with transaction.atomic():
            self._brands(catalog_file.brands)
            records = self._records_with_brand(catalog_file.records)
            self._manuals(records)
            self._products(records)
            self._document_links(records)
            self._aliases(records)

    def _brands(self, brands: list[BrandRecord]) -> None:
        counts = self.outcome.counts
        for record in brands:
            brand = self.brands.get(record.slug)
            if brand is None:
                self.brands[record.slug] = Brand.objects.create(slug=record.slug, **record.fields)
                counts.brands_created += 1
            elif changed := _apply(brand, record.fields):
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

    def _manuals(self, records: list[ProductRecord]) -> None:
        counts = self.outcome.counts
        new: dict[str, Manual] = {}
        for record in records:
            doc = record.documentation
            if doc is None or not doc.url or doc.discover:
                continue
            wanted = {"kind": doc.kind, "backup_url": doc.backup_url}
            manual = self.manuals.get(doc.url) or new.get(doc.url)
            if manual is None:
                new[doc.url] = Manual(source_url=doc.url, **wanted)
            elif manual.pk is not None and (changed := _apply(manual, wanted)):
                manual.save(update_fields=[*changed, "updated_at"])
                counts.manuals_updated += 1
        if new:
            for manual in Manual.objects.bulk_create(new.values()):
                self.manuals[manual.source_url] = manual
            counts.manuals_created += len(new)

    def _manual_for(self, record: ProductRecord, product: Product | None) -> Manual | None:
        """The manual this record links, creating a bundled-file manual when needed."""
        doc = record.documentation
        if doc is None or doc.discover:
            return None
        if doc.url:
            return self.manuals[doc.url]
        self.outcome.bundled_files[record.catalog_id] = doc.file
        current = self._bundled_manual(product)
        title = f"{record.fields['name']} manual"
        if current is not None:
            if changed := _apply(current, {"kind": doc.kind, "title": title}):
                current.save(update_fields=[*changed, "updated_at"])
                self.outcome.counts.manuals_updated += 1
            return current
        self.outcome.counts.manuals_created += 1
        return Manual.objects.create(kind=doc.kind, title=title)

    def _bundled_manual(self, product: Product | None) -> Manual | None:
        """The manual without a source URL the catalog gave this product before, if any."""
        if product is None or not self.links.get(product.pk):
            return None
        return Manual.objects.filter(
            pk__in=self.links[product.pk], source_url="", uploaded_file=""
        ).first()

    def _products(self, records: list[ProductRecord]) -> None:
        counts = self.outcome.counts
        now = timezone.now()
        self.wanted_links: dict[str, int] = {}
        to_create: list[Product] = []
        to_update: list[Product] = []
        changed_fields: set[str] = set()
        for record in records:
            product = self.products.get(record.catalog_id)
            # Ids, not instances: comparing `product.brand` would load each brand.
            fields = {**record.fields, "brand_id": self.brands[record.brand_slug].pk}
            manual = self._manual_for(record, product)
            if manual is not None:
                self.wanted_links[record.catalog_id] = manual.pk
            if product is None:
                to_create.append(Product(catalog_id=record.catalog_id, **fields))
                continue
            if changed := _apply(product, fields):
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

    def _document_links(self, records: list[ProductRecord]) -> None:
        """Link each record's document to its product, once; links are never removed here."""
        new = []
        for record in records:
            manual_id = self.wanted_links.get(record.catalog_id)
            if manual_id is None:
                continue
            pk = self.products[record.catalog_id].pk
            if manual_id not in self.links.setdefault(pk, set()):
                self.links[pk].add(manual_id)
                new.append(
                    DocumentLink(
                        manual_id=manual_id,
                        product_id=pk,
                        origin=DocumentLink.Origin.CATALOG,
                        provenance=record.file,
                    )
                )
        if new:
            DocumentLink.objects.bulk_create(new, batch_size=500)
            self.outcome.counts.documents_linked += len(new)
        self._discovery_targets(records)

    def _discovery_targets(self, records: list[ProductRecord]) -> None:
        """A documentation URL that is a vendor's page of links (`html_scrape`, a support
        index) is where discovery looks for the product's documents, not a document."""
        wanted = {
            (r.documentation.url, self.products[r.catalog_id].pk): r.file
            for r in records
            if r.documentation is not None and r.documentation.discover
        }
        if not wanted:
            return
        urls = sorted({url for url, _pk in wanted})
        sources = {s.url: s for s in DiscoverySource.objects.filter(url__in=urls)}
        created = DiscoverySource.objects.bulk_create(
            [DiscoverySource(url=url) for url in urls if url not in sources]
        )
        sources.update((s.url, s) for s in created)
        existing = set(
            DiscoveryTarget.objects.filter(source__url__in=urls).values_list(
                "source__url", "product_id"
            )
        )
        new = [
            DiscoveryTarget(source=sources[url], product_id=pk, provenance=file)
            for (url, pk), file in sorted(wanted.items())
            if (url, pk) not in existing
        ]
        DiscoveryTarget.objects.bulk_create(new, batch_size=500)
        self.outcome.counts.discovery_targets += len(new)
        # An earlier import linked such a page as the manual of these products: undo that.
        pks = [pk for _url, pk in wanted]
        stale = DocumentLink.objects.filter(
            manual__source_url__in=urls, product_id__in=pks, origin=DocumentLink.Origin.CATALOG
        )
        for product_id, manual_id in stale.values_list("product_id", "manual_id"):
            self.links.get(product_id, set()).discard(manual_id)
        if stale.delete()[0]:
            Manual.objects.filter(source_url__in=urls).update(
                status=Manual.Status.FAILED, error=NOT_A_MANUAL
            )
            documents_changed()

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

    def write_relationships(self) -> None:
        """Link products once all exist: a target may sit in any file, or only in the database."""
        records = [r for f in self.files if f.error is None for r in f.records if r.relationships]
        if not records:
            return
        targets = {rel.target_id for r in records for rel in r.relationships}
        pks = {cid: p.pk for cid, p in self.products.items()}
        missing = sorted(targets - set(pks))
        for chunk in _chunks(missing):
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
