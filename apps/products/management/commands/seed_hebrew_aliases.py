"""`manage.py seed_hebrew_aliases`: the curated Hebrew brand, model and product words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.products.services import HEBREW_ALIASES, seed_hebrew_aliases


class Command(BaseCommand):
    help = "Add the Hebrew aliases of apps/products/data/hebrew_aliases.json that are missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", type=Path, default=HEBREW_ALIASES, help="alias file (JSON)")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            result = seed_hebrew_aliases(path=path)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"added {result.brand_aliases} brand aliases and {result.term_aliases} term aliases"
        )
        if result.brands_without_alias:
            self.stdout.write(f"brands with no alias: {', '.join(result.brands_without_alias)}")
        if result.unknown_brands:
            self.stdout.write(f"not in this catalog: {', '.join(result.unknown_brands)}")
