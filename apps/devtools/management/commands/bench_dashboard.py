"""How long the content-gaps dashboard and its CSV exports take to render, as staff see them."""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import RequestFactory

from apps.sessions.dashboard import views
from apps.sessions.models import Message


class Command(BaseCommand):
    help = "Render the dashboard RUNS times (and each CSV once); print the times in ms."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args: Any, runs: int, days: int, **options: Any) -> None:
        if runs < 1:
            raise CommandError("--runs must be at least 1")
        staff = get_user_model().objects.filter(is_superuser=True, is_active=True).first()
        if staff is None:
            raise CommandError("no active superuser to render the page as (createsuperuser)")
        host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "127.0.0.1")
        factory = RequestFactory(HTTP_HOST=host.lstrip("."))
        total = Message.objects.count()
        times = []
        for _ in range(runs):
            times.append(self._render(factory, staff, {"days": str(days)}))
        self.stdout.write(
            f"dashboard over {total} messages, {days} days: first {times[0]:.0f} ms, "
            f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms ({runs} runs)"
        )
        for table in views.TABLES:
            took = self._render(factory, staff, {"days": str(days), "export": table})
            self.stdout.write(f"  csv {table}: {took:.0f} ms")

    @staticmethod
    def _render(factory: RequestFactory, staff: Any, query: dict[str, str]) -> float:
        request = factory.get("/admin/content-gaps/", query)
        request.user = staff
        started = time.perf_counter()
        response = views.dashboard(request)
        if response.status_code != 200:
            raise CommandError(f"the dashboard answered {response.status_code}")
        return (time.perf_counter() - started) * 1000
