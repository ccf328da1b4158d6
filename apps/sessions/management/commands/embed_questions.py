"""Compute the vectors of the newest unanswered questions, for the content-gaps clusters."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.manuals.embeddings import EmbeddingError
from apps.sessions.dashboard import clusters, selectors


class Command(BaseCommand):
    help = "Embed the newest unanswered questions (once each) for the dashboard's clusters."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--limit", type=int, default=clusters.CLUSTERED)

    def handle(self, *args: Any, days: int, limit: int, **options: Any) -> None:
        if days < 1 or limit < 1:
            raise CommandError("--days and --limit must be at least 1")
        started = time.perf_counter()
        try:
            done = clusters.embed_questions(start=selectors.since(days), limit=limit)
        except EmbeddingError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"embedded {done} questions in {time.perf_counter() - started:.1f} s")
