"""The content-gaps dashboard in the admin, and the CSV of each of its tables."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from apps.sessions.dashboard import charts, clusters, selectors

DEFAULT_DAYS = 30
MAX_DAYS = 365
TABLES = ("per_day", "products", "manuals", "pages", "handoffs", "clusters")


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except ValueError:
        return DEFAULT_DAYS
    return min(max(days, 1), MAX_DAYS)


def _tables(days: int, only: str | None = None) -> dict[str, Any]:
    start = selectors.since(days)
    wanted = (only,) if only else TABLES
    found: dict[str, Any] = {}
    if "per_day" in wanted:
        found["per_day"] = selectors.questions_per_day(start=start)
    if "products" in wanted:
        found["products"] = selectors.products_without_ready_documents(start=start)
    if "manuals" in wanted:
        found["manuals"] = selectors.manuals_with_gaps(start=start)
    if "pages" in wanted:
        found["pages"] = selectors.pages_with_thumbs_down(start=start)
    if "handoffs" in wanted:
        found["handoffs"] = selectors.handoffs(start=start)
    if "clusters" in wanted:
        found["clusters"] = clusters.cluster_unanswered(start=start)
    return found


@require_GET
@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("chat.view_message"):
        raise PermissionDenied
    days = _days(request)
    table = request.GET.get("export")
    if table is not None:
        if table not in TABLES:
            return HttpResponse("Unknown table.", status=400, content_type="text/plain")
        return _csv(table, _tables(days, table)[table], days)
    found = _tables(days)
    context = {
        **admin.site.each_context(request),
        "title": "Content gaps",
        "days": days,
        "day_choices": (7, 30, 90, 365),
        "per_day_chart": charts.stacked_days(found["per_day"], selectors.STATES),
        "products": charts.with_bars(found["products"], value="questions"),
        "manuals": found["manuals"],
        "pages": found["pages"],
        "handoffs": found["handoffs"],
        "clusters": found["clusters"],
        "transcript_url": reverse("admin:chat_chatsession_changelist"),
        "tables": TABLES,
    }
    return render(request, "dashboard/content_gaps.html", context)


def _csv(table: str, rows: Any, days: int) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="content-gaps-{table}-{days}d.csv"'
    writer = csv.writer(response)
    if table == "handoffs":
        writer.writerow(["measure", "value"])
        for key in ("chats", "handoffs", "rate", "claimed", "wait_p50_seconds", "wait_p90_seconds"):
            writer.writerow([key, rows[key]])
        for row in rows["by_status"]:
            writer.writerow([f"status:{row['status']}", row["count"]])
        for row in rows["by_reason"]:
            writer.writerow([f"reason:{row['reason']}", row["count"]])
        return response
    if table == "clusters":
        writer.writerow(["cluster", "size", "question_id", "session_id", "question"])
        for number, cluster in enumerate(rows.clusters, start=1):
            for pk, text, session_id in cluster.questions:
                writer.writerow([number, cluster.size, pk, session_id, _cell(text)])
        return response
    if rows:
        writer.writerow(list(rows[0].keys()))
        for row in rows:
            writer.writerow([_cell(value) for value in row.values()])
    return response


def _cell(value: Any) -> Any:
    """A customer's text must not become a formula in a spreadsheet."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
