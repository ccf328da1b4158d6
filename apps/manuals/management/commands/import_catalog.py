"""`manage.py import_catalog PATH...`: upsert catalog files (see apps/products/importer).

Here, not in the catalog app: the import writes each record's documents too, and the catalog
app does not know documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.manuals.services import import_catalog
from apps.products.importer import ImportResult

_BAR = 30
_SHOWN = 20  # rejections and failed files listed on the terminal; the report has them all


class Command(BaseCommand):
    help = "Import catalog JSON files or folders (the shared catalog schema)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="catalog files, or folders of *.json")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--report", metavar="FILE", help="write a JSON report to FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        self.tty = self.stdout.isatty()
        result = import_catalog(
            options["paths"], dry_run=options["dry_run"], progress=self.show_progress
        )
        self.print_summary(result)
        if options["report"]:
            self.write_report(result, Path(options["report"]))
        if result.failed_files:
            raise CommandError(f"{len(result.failed_files)} file(s) could not be imported")

    def show_progress(self, step: str, done: int, total: int) -> None:
        if step != "write":
            return
        if self.tty:
            filled = _BAR * done // max(total, 1)
            bar = "#" * filled + "." * (_BAR - filled)
            end = "\n" if done == total else ""
            self.stdout.write(f"\rimporting [{bar}] {done}/{total} files", ending=end)
            self.stdout.flush()
        elif done == total or done % 10 == 0:
            self.stdout.write(f"imported {done}/{total} files")

    def print_summary(self, result: ImportResult) -> None:
        for catalog_file in result.failed_files[:_SHOWN]:
            self.stderr.write(f"file {catalog_file.path}: {catalog_file.error}")
        for rejection in result.rejections[:_SHOWN]:
            where = f"record #{rejection.position}" if rejection.position else "file"
            self.stderr.write(f"rejected {rejection.file} {where}: {rejection.reason}")
        if len(result.rejections) > _SHOWN:
            self.stderr.write(f"... and {len(result.rejections) - _SHOWN} more rejected")
        if result.bundled_files:
            self.stdout.write(
                f"{len(result.bundled_files)} product(s) name a bundled manual file: "
                "`load_demo` attaches the demo's; otherwise upload them in the admin"
            )
        summary = result.summary()
        line = ", ".join(
            f"{summary[key]} {key}"
            for key in ("created", "updated", "unchanged", "flagged", "rejected", "merged")
        )
        prefix = "dry run, nothing written: " if result.dry_run else ""
        style = self.style.WARNING if result.failed_files else self.style.SUCCESS
        self.stdout.write(style(f"{prefix}{line}"))
        self.stdout.write(
            f"brands {summary['brands_created']} created / {summary['brands_updated']} updated, "
            f"manuals {summary['manuals_created']} created / {summary['manuals_updated']} "
            f"updated, {summary['aliases_created']} aliases and "
            f"{summary['relationships_created']} relationships created, "
            f"{summary['unresolved_relationships']} relationships unresolved"
        )
        if result.catalog_version is not None:
            self.stdout.write(f"catalog version is now {result.catalog_version}")

    def write_report(self, result: ImportResult, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        self.stdout.write(f"report written to {path}")
