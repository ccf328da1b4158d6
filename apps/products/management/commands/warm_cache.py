"""Rebuild the prediction index everywhere and warm the busiest product cards (the hourly job)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.products.services import regenerate_product_cache


class Command(BaseCommand):
    help = "Rebuild the prediction index and warm the cards of the most asked-about products."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=settings.CACHE_WARM_PRODUCTS,
            help="How many products to warm (default: CACHE_WARM_PRODUCTS).",
        )

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        result = regenerate_product_cache(warm_limit=max(0, limit))
        self.stdout.write(
            f"warmed {result.cards} product cards and {result.passage_indexes} passage indexes"
        )
