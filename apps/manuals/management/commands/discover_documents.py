"""Look for products' documents on the vendor pages the catalog names (discovery sources)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.manuals.models import DiscoverySource
from apps.manuals.services.discovery import request_discovery, run_discovery


class Command(BaseCommand):
    help = "Read the vendor pages that link to documents and attach each product's documents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Read pages already read too.")
        parser.add_argument("--sync", action="store_true", help="Read them here, not queued.")

    def handle(self, *args: Any, **options: Any) -> None:
        sources = DiscoverySource.objects.order_by("pk")
        if not options["all"]:
            sources = sources.filter(status__in=[DiscoverySource.Status.NEW, "failed"])
        for source in sources:
            if not options["sync"]:
                queued = request_discovery(source_id=source.pk, force=True)
                self.stdout.write(f"{source.url}: {'queued' if queued else 'already on its way'}")
                continue
            report = run_discovery(source_id=source.pk)
            if report.error:
                self.stderr.write(f"{source.url}: {report.error}")
                continue
            attached = sum(len(o.attached) for o in report.outcomes.values())
            review = sum(len(o.review) for o in report.outcomes.values())
            nothing = sum(not o.attached and not o.review for o in report.outcomes.values())
            self.stdout.write(
                f"{source.url}: {len(report.outcomes)} products, {attached} documents attached, "
                f"{review} links for review, {nothing} products with nothing found"
            )
