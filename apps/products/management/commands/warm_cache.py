"""Make every process rebuild its prediction index and warm the product cards (the hourly job)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.products.services import regenerate_product_cache


class Command(BaseCommand):
    help = "Make every process rebuild its prediction index, and warm the product cards."

    def handle(self, *args: Any, **options: Any) -> None:
        cards = regenerate_product_cache()
        self.stdout.write(f"catalog version bumped; warmed {cards} product cards")
