"""The catalog import's documents: one manual per documentation URL, linked to its products.

The importer lives in the catalog app, which does not know about documents; this is the
`DocumentWriter` it is handed (apps/products/importer/documents.py), and `import_catalog`
is the import with it: brands, products and manuals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from apps.manuals.models import DiscoverySource, DiscoveryTarget, DocumentLink, Manual
from apps.manuals.services.discovery import NOT_A_MANUAL
from apps.manuals.services.status import documents_changed
from apps.products.importer import CatalogImport, ImportResult, Progress
from apps.products.importer.identity import IdentityPlan, alnum
from apps.products.importer.records import ProductRecord
from apps.products.importer.writing import Counts, apply_changes, chunks
from apps.products.models import Family, Product
from apps.products.prediction.normalize import content_tokens


def import_catalog(
    paths: list[str], *, dry_run: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Import catalog files: brands, products and their documents (`manage.py import_catalog`)."""
    return CatalogImport(
        paths, documents=CatalogDocuments(), dry_run=dry_run, progress=progress
    ).run()


def _names_variant(url: str, record: ProductRecord, family: Family) -> bool:
    """The document's address names what sets this variant apart ("...-ex.pdf")."""
    extra = set(content_tokens(record.fields["name"])) - set(content_tokens(family.name))
    path = alnum(url.rsplit("/", 1)[-1])
    return any(len(token) >= 2 and token in path for token in extra)


class CatalogDocuments:
    """The manuals and links an import touches, loaded once, written file by file."""

    def __init__(self) -> None:
        self.manuals: dict[str, Manual] = {}
        # product pk -> manual ids the catalog linked to it (staff links are not the importer's).
        self.links: dict[int, set[int]] = {}
        # catalog id -> the manual its record links (kept across files for the families)
        self.wanted_links: dict[str, int] = {}

    def load(self, records: Iterable[ProductRecord], products: Mapping[str, Product]) -> None:
        urls = {
            r.documentation.url
            for r in records
            if r.documentation and r.documentation.url and not r.documentation.discover
        }
        self.manuals = {}
        for chunk in chunks(sorted(urls)):
            self.manuals.update(
                (m.source_url, m) for m in Manual.objects.filter(source_url__in=chunk)
            )
        self.links = {}
        pks = [p.pk for p in products.values()]
        for chunk in chunks(pks):
            for product_id, manual_id in DocumentLink.objects.filter(
                product_id__in=chunk
            ).values_list("product_id", "manual_id"):
                self.links.setdefault(product_id, set()).add(manual_id)

    def forget(self, records: Iterable[ProductRecord]) -> None:
        for record in records:
            self.wanted_links.pop(record.catalog_id, None)

    def write(
        self,
        records: list[ProductRecord],
        *,
        products: Mapping[str, Product],
        plan: IdentityPlan,
        counts: Counts,
    ) -> None:
        self._manuals(records, counts)
        for record in records:
            manual = self._manual_for(record, products[record.catalog_id], counts)
            if manual is not None:
                self.wanted_links[record.catalog_id] = manual.pk
        self._document_links(records, products, plan, counts)
        self._discovery_targets(records, products, plan, counts)

    def _manuals(self, records: list[ProductRecord], counts: Counts) -> None:
        new: dict[str, Manual] = {}
        for record in records:
            doc = record.documentation
            if doc is None or not doc.url or doc.discover:
                continue
            wanted = {"kind": doc.kind, "backup_url": doc.backup_url}
            manual = self.manuals.get(doc.url) or new.get(doc.url)
            if manual is None:
                new[doc.url] = Manual(source_url=doc.url, **wanted)
            elif manual.pk is not None and (changed := apply_changes(manual, wanted)):
                manual.save(update_fields=[*changed, "updated_at"])
                counts.manuals_updated += 1
        if new:
            for manual in Manual.objects.bulk_create(new.values()):
                self.manuals[manual.source_url] = manual
            counts.manuals_created += len(new)

    def _manual_for(self, record: ProductRecord, product: Product, counts: Counts) -> Manual | None:
        """The manual this record links, creating a bundled-file manual when needed."""
        doc = record.documentation
        if doc is None or doc.discover:
            return None
        if doc.url:
            return self.manuals[doc.url]
        current = self._bundled_manual(product)
        title = f"{record.fields['name']} manual"
        if current is not None:
            if changed := apply_changes(current, {"kind": doc.kind, "title": title}):
                current.save(update_fields=[*changed, "updated_at"])
                counts.manuals_updated += 1
            return current
        counts.manuals_created += 1
        return Manual.objects.create(kind=doc.kind, title=title)

    def _bundled_manual(self, product: Product) -> Manual | None:
        """The manual without a source URL the catalog gave this product before, if any."""
        if not self.links.get(product.pk):
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

    def _document_links(
        self,
        records: list[ProductRecord],
        products: Mapping[str, Product],
        plan: IdentityPlan,
        counts: Counts,
    ) -> None:
        """Link each record's document to its product, once; links are never removed here."""
        new = []
        deferred = plan.family_of.keys() | plan.merged_into.keys()
        for record in records:
            manual_id = self.wanted_links.get(record.catalog_id)
            # Family members and merged listings are linked once every file is written.
            if manual_id is None or record.catalog_id in deferred:
                continue
            pk = products[record.catalog_id].pk
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
            counts.documents_linked += len(new)

    def _discovery_targets(
        self,
        records: list[ProductRecord],
        products: Mapping[str, Product],
        plan: IdentityPlan,
        counts: Counts,
    ) -> None:
        """A documentation URL that is a vendor's page of links (`html_scrape`, a support
        index) is where discovery looks for the product's documents, not a document."""
        wanted = {
            (r.documentation.url, products[r.catalog_id].pk): r.file
            for r in records
            if r.documentation is not None
            and r.documentation.discover
            # A merged listing's documents are its kept product's (which has its record's).
            and r.catalog_id not in plan.merged_into
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
        counts.discovery_targets += len(new)
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

    def write_family_documents(
        self,
        records: Mapping[str, ProductRecord],
        *,
        products: Mapping[str, Product],
        families: Mapping[str, Family],
        plan: IdentityPlan,
        counts: Counts,
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
        for catalog_id in sorted(plan.family_of.keys() - plan.merged_into.keys()):
            record, product = records.get(catalog_id), products.get(catalog_id)
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
            counts.documents_linked += len(new)
