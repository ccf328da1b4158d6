"""The catalog importer: files in the shared catalog schema into brands, products, manuals.

`import_catalog()` is the one entry point; `CatalogImport` exposes its steps for tests.
"""

from __future__ import annotations

from apps.products.importer.run import CatalogImport, ImportResult, Progress


def import_catalog(
    paths: list[str], *, dry_run: bool = False, progress: Progress | None = None
) -> ImportResult:
    return CatalogImport(paths, dry_run=dry_run, progress=progress).run()


__all__ = ["CatalogImport", "ImportResult", "import_catalog"]
