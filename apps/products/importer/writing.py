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
from apps.products.importer.identity import IdentityPlan, alnum
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
from apps.products.prediction.normalize import content_tokens

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


def _names_variant(url: str, record: ProductRecord, family: Family) -> bool:
    """The document's address names what sets this variant apart ("...-ex.pdf")."""
    extra = set(content_tokens(record.fields["name"])) - set(content_tokens(family.name))
    path = alnum(url.rsplit("/", 1)[-1])
    return any(len(token) >= 2 and token in path for token in extra)


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

    def __init__(self, files: list[CatalogFile], plan: IdentityPlan | None = None) -> None:
        self.files = files
        self.plan = plan or IdentityPlan()
        self.outcome = WriteOutcome()
        # catalog id -> the manual its record links (kept across files for write_identity)
        self.wanted_links: dict[str, int] = {}
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
        try:
            with transaction.atomic():
                self._brands(catalog_file.brands)
                records = self._records_with_brand(catalog_file.records)
                self._manuals(records)
                self._products(records)
                self._document_links(records)
                self._aliases(records)
        except Exception:
            for record in catalog_file.records:
                self.wanted_links.pop(record.catalog_id, None)
            raise

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
        # The catalog's own link, whether or not a file was attached to it since (load_demo
        # attaches the demo's); a document staff uploaded is linked with origin "staff".
        return (
            Manual.objects.filter(
                links__product=product, links__origin=DocumentLink.Origin.CATALOG, source_url=""
            )
            .order_by("pk")
            .first()
        )

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
            manual = self._manual_for(record, product)
            if manual is not None:
                self.wanted_links[record.catalog_id] = manual.pk
            if product is None:
                to_create.append(Product(catalog_id=record.catalog_id, **fields))
                continue
            # What staff changed in the admin stays as they left it.
            for name in product.locked_fields:
                fields.pop(name, None)
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
        deferred = self.plan.family_of.keys() | self.plan.merged_into.keys()
        for record in records:
            manual_id = self.wanted_links.get(record.catalog_id)
            # Family members and merged listings are linked once every file is written.
            if manual_id is None or record.catalog_id in deferred:
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
            if r.documentation is not None
            and r.documentation.discover
            # A merged listing's documents are its kept product's (which has its record's).
            and r.catalog_id not in self.plan.merged_into
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
            self._family_documents(records, families)

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

    def _family_documents(
        self, records: dict[str, ProductRecord], families: dict[str, Family]
    ) -> None:
        """Link the deferred documents: to the family unless the document names the
        variant, else to the product; a merged listing's document is its kept product's."""
        family_links = set(
            DocumentLink.objects.filter(
                family_id__in=[f.pk for f in families.values()]
            ).values_list("family_id", "manual_id")
        )
        by_pk = {f.pk: f for f in families.values()}
        urls = {m.pk: m.source_url for m in self.manuals.values() if m.pk is not None}
        new: list[DocumentLink] = []
        for catalog_id in sorted(self.plan.family_of.keys() - self.plan.merged_into.keys()):
            record, product = records.get(catalog_id), self.products.get(catalog_id)
            manual_id = self.wanted_links.get(catalog_id)
            if record is None or product is None or manual_id is None:
                continue
            family = by_pk.get(product.family_id)
            url = urls.get(manual_id, "")
            if family is not None and not _names_variant(url, record, family):
                if (family.pk, manual_id) in family_links:
                    continue
                family_links.add((family.pk, manual_id))
                new.append(
                    DocumentLink(
                        manual_id=manual_id,
                        family_id=family.pk,
                        origin=DocumentLink.Origin.CATALOG,
                        provenance=record.file,
                    )
                )
            elif manual_id not in self.links.setdefault(product.pk, set()):
                self.links[product.pk].add(manual_id)
                new.append(
                    DocumentLink(
                        manual_id=manual_id,
                        product_id=product.pk,
                        origin=DocumentLink.Origin.CATALOG,
                        provenance=record.file,
                    )
                )
        if new:
            DocumentLink.objects.bulk_create(new, batch_size=500)
            self.outcome.counts.documents_linked += len(new)

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
