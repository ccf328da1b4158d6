"""What an import needs from the app that keeps documents, which sits above this one.

The catalog app depends on nothing above it, so the importer does not write manuals itself:
`CatalogImport` is handed a `DocumentWriter` (`apps.manuals.services.catalog` has the one
the product uses) and calls it at the points of the import where documents are written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from apps.products.models import Family, Product

if TYPE_CHECKING:
    from apps.products.importer.identity import IdentityPlan
    from apps.products.importer.records import ProductRecord
    from apps.products.importer.writing import Counts


class DocumentWriter(Protocol):
    def load(self, records: Iterable[ProductRecord], products: Mapping[str, Product]) -> None:
        """Read, once, the documents and links these records (and products) can touch."""

    def write(
        self,
        records: list[ProductRecord],
        *,
        products: Mapping[str, Product],
        plan: IdentityPlan,
        counts: Counts,
    ) -> None:
        """The records' documents and their links to products, in the file's transaction,
        after its products were written. Family members and merged listings wait for
        `write_family_documents`."""

    def forget(self, records: Iterable[ProductRecord]) -> None:
        """The file these records came from was rolled back."""

    def write_family_documents(
        self,
        records: Mapping[str, ProductRecord],
        *,
        products: Mapping[str, Product],
        families: Mapping[str, Family],
        plan: IdentityPlan,
        counts: Counts,
    ) -> None:
        """Link the documents that waited, once every file's products and families exist."""
