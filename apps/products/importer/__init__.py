"""The catalog importer: files in the shared catalog schema into brands and products.

Each record's documentation is handed to a `DocumentWriter` (documents.py): the catalog app
does not know documents. `apps.manuals.services.import_catalog` is the whole import, with
the manuals app's writer; `CatalogImport` exposes its steps for tests.
"""

from __future__ import annotations

from apps.products.importer.documents import DocumentWriter
from apps.products.importer.run import CatalogImport, ImportResult, Progress

__all__ = ["CatalogImport", "DocumentWriter", "ImportResult", "Progress"]
