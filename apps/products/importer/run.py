"""The import as a sequence of steps, each a method a test can call on its own."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.products.importer.documents import DocumentWriter
from apps.products.importer.identity import IdentityPlan, alias_brands, fold_merges, resolve
from apps.products.importer.reading import (
    CatalogFile,
    Merge,
    Rejection,
    discover,
    merge_brands,
    merge_duplicates,
    read_file,
)
from apps.products.importer.writing import CatalogWriter, Counts
from apps.products.models import ProductMerge
from apps.products.services import bump_catalog_version

logger = logging.getLogger(__name__)

# (step, done, total): "read" and "write" count files.
Progress = Callable[[str, int, int], None]


class _DryRunRollback(Exception):
    pass


@dataclass
class ImportResult:
    dry_run: bool
    files: list[CatalogFile] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    unresolved: list[Rejection] = field(default_factory=list)
    bundled_files: dict[str, str] = field(default_factory=dict)
    identity: IdentityPlan = field(default_factory=IdentityPlan)
    catalog_version: int | None = None

    @property
    def failed_files(self) -> list[CatalogFile]:
        return [f for f in self.files if f.error is not None]

    @property
    def flagged(self) -> list[dict[str, Any]]:
        return [
            {
                "id": r.catalog_id,
                "file": r.file,
                "position": r.position,
                "raw_price": r.fields.get("raw_price", ""),
                "reason": r.fields["review_reason"],
            }
            for f in self.files
            if f.error is None
            for r in f.records
            if r.flags
        ]

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "failed_files": len(self.failed_files),
            "created": self.counts.created,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "flagged": len(self.flagged),
            "rejected": len(self.rejections),
            "merged": len(self.merges),
            "identity_merged": self.identity.count("merged"),
            "families": self.identity.count("family"),
            "kept_apart": self.identity.count("kept_apart"),
            "renamed": self.identity.count("renamed"),
            "families_created": self.counts.families_created,
            "family_assignments": self.counts.family_assignments,
            "merges_recorded": self.counts.merges_recorded,
            "brands_created": self.counts.brands_created,
            "brands_updated": self.counts.brands_updated,
            "manuals_created": self.counts.manuals_created,
            "manuals_updated": self.counts.manuals_updated,
            "aliases_created": self.counts.aliases_created,
            "relationships_created": self.counts.relationships_created,
            "relationships_updated": self.counts.relationships_updated,
            "unresolved_relationships": len(self.unresolved),
        }

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (`import_catalog --report FILE`)."""
        return {
            "dry_run": self.dry_run,
            "catalog_version": self.catalog_version,
            "summary": self.summary(),
            "files": [
                {
                    "path": f.path,
                    "records": len(f.records),
                    "rejected": sum(1 for r in self.rejections if r.file == f.path),
                    "error": f.error,
                }
                for f in self.files
            ],
            "rejected": [dataclasses.asdict(r) for r in self.rejections],
            "flagged": self.flagged,
            "merged": [
                {
                    "id": m.catalog_id,
                    "sources": [{"file": f, "position": p} for f, p in m.sources],
                    "conflicts": m.conflicts,
                }
                for m in self.merges
            ],
            "renamed_ids": [
                {"file": r.file, "position": r.position, "from": r.raw_id, "to": r.catalog_id}
                for f in self.files
                for r in f.records
                if r.raw_id != r.catalog_id
            ],
            "identity": [d.to_dict() for d in self.identity.decisions],
            "unresolved_relationships": [dataclasses.asdict(r) for r in self.unresolved],
            "warnings": [
                {"file": r.file, "position": r.position, "id": r.catalog_id, "warning": w}
                for f in self.files
                for r in f.records
                for w in r.warnings
            ],
        }


class CatalogImport:
    """Read every file, merge duplicate ids, write each file in its own transaction,
    then the relationships, then bump the catalog version once if anything changed."""

    def __init__(
        self,
        paths: list[str],
        *,
        documents: DocumentWriter,
        dry_run: bool = False,
        progress: Progress | None = None,
        ceiling: Decimal | None = None,
    ) -> None:
        self.paths = paths
        self.documents = documents
        self.result = ImportResult(dry_run=dry_run)
        self.progress = progress or (lambda step, done, total: None)
        self.ceiling = ceiling or Decimal(str(settings.CATALOG_PRICE_CEILING))

    def run(self) -> ImportResult:
        self.read_files()
        self.merge()
        if self.result.dry_run:
            # The same writes as a real run, rolled back: the counts are the real ones.
            try:
                with transaction.atomic():
                    self.write()
                    raise _DryRunRollback
            except _DryRunRollback:
                pass
        else:
            self.write()
            self.bump_version()
        return self.result

    def read_files(self) -> None:
        paths = discover(self.paths)
        for done, path in enumerate(paths, start=1):
            catalog_file = read_file(path, ceiling=self.ceiling)
            self.result.files.append(catalog_file)
            self.result.rejections.extend(catalog_file.rejections)
            self.progress("read", done, len(paths))

    def merge(self) -> None:
        readable = [f for f in self.result.files if f.error is None]
        alias_brands(readable)
        merge_brands(readable)
        self.result.merges = merge_duplicates(readable)
        brand_names = {b.slug: b.fields.get("name", "") for f in readable for b in f.brands}
        self.result.identity = resolve(
            readable, brand_names=brand_names, split_pairs=self.split_pairs()
        )
        fold_merges(readable, self.result.identity)

    @staticmethod
    def split_pairs() -> set[frozenset[str]]:
        """Listings staff split apart: never merged again."""
        rows = ProductMerge.objects.filter(status=ProductMerge.Status.SPLIT).values_list(
            "kept__catalog_id", "merged__catalog_id"
        )
        return {frozenset(pair) for pair in rows}

    def write(self) -> None:
        readable = [f for f in self.result.files if f.error is None]
        writer = CatalogWriter(readable, self.result.identity, documents=self.documents)
        for done, catalog_file in enumerate(readable, start=1):
            before = dataclasses.replace(writer.outcome.counts)
            try:
                writer.write_file(catalog_file)
            except Exception as exc:
                # The file's transaction rolled back: forget what it counted and cached.
                logger.exception("importing %s failed", catalog_file.path)
                catalog_file.error = f"database error: {exc}"
                writer.outcome.counts = before
                writer.load_existing()
            self.progress("write", done, len(readable))
        writer.write_identity()
        writer.write_relationships()
        self.result.counts = writer.outcome.counts
        self.result.rejections.extend(writer.outcome.rejections)
        self.result.unresolved = writer.outcome.unresolved
        self.result.bundled_files = writer.outcome.bundled_files

    def bump_version(self) -> None:
        if self.result.counts.changed_anything:
            self.result.catalog_version = bump_catalog_version()
