"""Print how well discovery finds each product's documents on loopback vendor sites.

Nothing is kept: the products, sources and documents it creates are rolled back.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from apps.devtools.evaluation.discovery import DiscoveryScore, evaluate
from apps.devtools.evaluation.vendor_sites import VendorSites


class Command(BaseCommand):
    help = "Discovery on loopback vendor sites: products with the right documents, precision."

    def handle(self, *args: Any, **options: Any) -> None:
        sites = VendorSites()
        started = time.monotonic()
        with sites.serve():
            allowed = [f"127.0.0.1:{sites.port}"]
            with override_settings(MANUAL_FETCH_ALLOWED_HOSTS=allowed), transaction.atomic():
                score = evaluate(sites)
                transaction.set_rollback(True)
        self.print_score(score, time.monotonic() - started)

    def print_score(self, score: DiscoveryScore, seconds: float) -> None:
        total = len(score.products)
        right = sum(p.right for p in score.products)
        documents = sum(len(p.expected) for p in score.products)
        self.stdout.write(
            f"{total} catalog products, {documents} documents expected (en, he), "
            f"{score.pages_read} pages read, {seconds:.1f} s"
        )
        self.stdout.write(f"right documents found: {right}/{total} ({score.right_share:.1%})")
        self.stdout.write(f"precision {score.precision:.3f}  recall {score.recall:.3f}")
        self.stdout.write(f"another model's document attached: {len(score.other_models)}")
        for product, owner in score.other_models:
            self.stdout.write(f"  {product}: a document of {owner}")
        waiting = sum(p.review for p in score.products)
        self.stdout.write(f"links waiting for review: {waiting}")
        for result in score.products:
            if result.right:
                continue
            missing = len(result.expected - result.attached)
            extra = len(result.attached - result.expected)
            self.stdout.write(
                f"  {result.name}: {missing} missing, {extra} extra, {result.review} in review"
                + (f" — {result.reason}" if result.reason else "")
            )
