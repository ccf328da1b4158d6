"""`manage.py prefetch_manuals [--brand B] [--status S] [--all] [--sync]`.

With Celery the manuals are queued for the workers; without it (the embedded default), or
with --sync, they are fetched here one by one, since a command's own threads end with it.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.manuals import services
from apps.manuals.models import Manual
from apps.manuals.selectors import manuals_to_prefetch

_BAR = 30
logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Fetch and read manuals ahead of customers: by default those missing or failed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--brand", help="only manuals of this brand (slug or name)")
        parser.add_argument(
            "--status", choices=Manual.Status.values, help="only manuals in this status"
        )
        parser.add_argument("--all", action="store_true", help="every manual, ready ones too")
        parser.add_argument("--sync", action="store_true", help="fetch here instead of queueing")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = list(
            manuals_to_prefetch(
                brand=options["brand"], status=options["status"], everything=options["all"]
            ).values_list("pk", flat=True)
        )
        here = options["sync"] or not settings.CELERY_ENABLED
        outcomes: Counter[str] = Counter()
        failures: list[tuple[int, str]] = []
        for done, manual_id in enumerate(ids, start=1):
            outcome, error = self.ingest(manual_id) if here else (self.queue(manual_id), "")
            outcomes[outcome] += 1
            if error:
                failures.append((manual_id, error))
            self.show_progress(done, len(ids))
        self.print_summary(outcomes, failures, len(ids))

    def queue(self, manual_id: int) -> str:
        # Staff asking explicitly do not wait out the cooldown of a failed manual.
        return "queued" if services.fetch_now(manual_id=manual_id) else "skipped"

    def ingest(self, manual_id: int) -> tuple[str, str]:
        try:
            manual = services.ingest_manual(manual_id=manual_id)
        except services.ManualBusy:
            return "busy", ""
        except Exception as error:
            # One manual's bug must not cost the rest of the batch; the traceback is logged.
            logger.exception("prefetch of manual %s failed", manual_id)
            return "error", f"error on our side ({type(error).__name__}); see the log"
        return manual.status, manual.error if manual.status == Manual.Status.FAILED else ""

    def show_progress(self, done: int, total: int) -> None:
        if self.stdout.isatty():
            filled = _BAR * done // max(total, 1)
            end = "\n" if done == total else ""
            bar = "#" * filled + "." * (_BAR - filled)
            self.stdout.write(f"\rmanuals [{bar}] {done}/{total}", ending=end)
            self.stdout.flush()
        elif done == total or done % 10 == 0:
            self.stdout.write(f"manuals {done}/{total}")

    def print_summary(
        self, outcomes: Counter[str], failures: list[tuple[int, str]], total: int
    ) -> None:
        for manual_id, error in failures:
            self.stderr.write(f"manual {manual_id}: {error}")
        counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        self.stdout.write(f"{total} manuals: {counts or 'nothing to do'}")
