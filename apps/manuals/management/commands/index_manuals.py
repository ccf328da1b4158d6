"""`manage.py index_manuals [--all] [MANUAL_ID ...]`: build and embed stored passage indexes.

Manuals ingested before indexes were stored have none; a web process answers them lexically
from their pages meanwhile. This backfills them here. `--all` rebuilds every ready manual as a
new version (after a change of the extraction rules or of the embedding model), so no process
or cached answer keeps the old index.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.manuals.models import Manual, ManualIndexData
from apps.manuals.retrieval.store import index_manual
from apps.manuals.retrieval.stored import FORMAT
from apps.manuals.services.pipeline import rebuild_index


class Command(BaseCommand):
    help = "Build and embed the stored passage index of ready manuals that lack one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manual_ids", nargs="*", type=int)
        parser.add_argument("--all", action="store_true", help="Rebuild every ready manual.")

    def handle(self, *args: Any, manual_ids: list[int], all: bool, **options: Any) -> None:
        for manual_id in self.pending(manual_ids, rebuild=all):
            hybrid = (
                rebuild_index(manual_id=manual_id) if all else index_manual(manual_id=manual_id)
            )
            self.stdout.write(f"manual {manual_id}: {'hybrid' if hybrid else 'lexical only'}")

    def pending(self, manual_ids: list[int], *, rebuild: bool) -> list[int]:
        ready = Manual.objects.filter(status=Manual.Status.READY)
        if manual_ids:
            ready = ready.filter(pk__in=manual_ids)
        chosen = []
        for manual_id, version in ready.values_list("pk", "version"):
            stored = ManualIndexData.objects.filter(
                manual_id=manual_id, version=version, format=FORMAT, state="hybrid"
            ).exists()
            if rebuild or manual_ids or not stored:
                chosen.append(manual_id)
        return chosen
