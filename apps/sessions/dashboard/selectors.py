"""The dashboard's tables, aggregated in SQL over a window of days.

Each function returns rows (dicts with the same keys in order), which the page draws and the
CSV export writes. Only the thumbs-down citations and the wait times are read row by row,
and only for the window's thumbs-down answers and claimed handoffs.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.manuals.models import DocumentLink, Manual
from apps.products.models import Product
from apps.sessions import shop_questions
from apps.sessions.models import Feedback, Handoff, Message

UNANSWERED = [
    Message.State.NOT_IN_MANUAL,
    Message.State.NO_MANUAL,
    Message.State.NO_PRODUCT,
]
STATES = [choice for choice in Message.State.values]


def since(days: int, *, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def questions_per_day(*, start: datetime) -> list[dict[str, Any]]:
    """Answers a day, by state (an answer per question: its state is the question's)."""
    rows = (
        Message.objects.filter(role=Message.Role.ANSWER, created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day", "state")
        .annotate(count=Count("id"))
        .order_by("day")
    )
    days: dict[Any, dict[str, Any]] = {}
    for row in rows:
        day = days.setdefault(row["day"], {"day": row["day"], **dict.fromkeys(STATES, 0)})
        if row["state"] in day:
            day[row["state"]] += row["count"]
    for day in days.values():
        day["total"] = sum(day[state] for state in STATES)
    return list(days.values())


def products_without_ready_documents(*, start: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """The most asked-about products that have no ready document, their own or their family's."""
    asked = list(
        Message.objects.filter(
            role=Message.Role.QUESTION, created_at__gte=start, product__isnull=False
        )
        .values("product")
        .annotate(questions=Count("id"))
        .order_by("-questions", "product")
        .values_list("product", "questions")
    )
    ready = DocumentLink.objects.filter(manual__status=Manual.Status.READY).filter(
        Q(product=OuterRef("pk")) | Q(family=OuterRef("family"))
    )
    bare = dict(
        Product.objects.filter(pk__in=[pk for pk, _n in asked])
        .filter(~Exists(ready))
        .values_list("pk", "name")
    )
    catalog_ids = dict(Product.objects.filter(pk__in=bare).values_list("pk", "catalog_id"))
    return [
        {
            "product_id": pk,
            "catalog_id": catalog_ids[pk],
            "product": bare[pk],
            "questions": questions,
        }
        for pk, questions in asked
        if pk in bare
    ][:limit]


def manuals_with_gaps(*, start: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """Documents by the not_in_manual answers about their products and the thumbs-down their
    answers got (a thumbs-down counts for each document its answer cites)."""
    abstained = dict(
        Message.objects.filter(
            role=Message.Role.ANSWER,
            created_at__gte=start,
            state=Message.State.NOT_IN_MANUAL,
            product__isnull=False,
        )
        # A price or stock question the catalog could not answer is no gap of a document.
        .exclude(engine=shop_questions.ENGINE)
        .values("product")
        .annotate(count=Count("id"))
        .values_list("product", "count")
    )
    per_manual: Counter[int] = Counter()
    links = DocumentLink.objects.filter(
        Q(product_id__in=abstained.keys()) | Q(family__products__in=abstained.keys())
    ).values_list("manual_id", "product_id", "family__products")
    for manual_id, product_id, family_product in links:
        per_manual[manual_id] += abstained.get(product_id or family_product, 0)
    down_per_manual: Counter[int] = Counter()
    for (manual_id, _page), count in _thumbs_down_pages(start).items():
        down_per_manual[manual_id] += count
    manual_ids = set(per_manual) | set(down_per_manual)
    titles = dict(Manual.objects.filter(pk__in=manual_ids).values_list("pk", "title"))
    rows = [
        {
            "manual_id": manual_id,
            "manual": titles.get(manual_id) or f"manual {manual_id}",
            "not_in_manual": per_manual[manual_id],
            "thumbs_down": down_per_manual[manual_id],
        }
        for manual_id in manual_ids
        if manual_id in titles
    ]
    rows.sort(key=lambda row: (-(row["not_in_manual"] + row["thumbs_down"]), row["manual_id"]))
    return rows[:limit]


def pages_with_thumbs_down(*, start: datetime, limit: int = 20) -> list[dict[str, Any]]:
    downs = _thumbs_down_pages(start)
    titles = dict(Manual.objects.filter(pk__in={m for m, _ in downs}).values_list("pk", "title"))
    return [
        {
            "manual_id": manual_id,
            "manual": titles.get(manual_id) or f"manual {manual_id}",
            "page": page,
            "thumbs_down": count,
            "url": f"/manuals/{manual_id}/document#page={page}",
        }
        for (manual_id, page), count in downs.most_common(limit)
    ]


def _thumbs_down_pages(start: datetime) -> Counter[tuple[int, int]]:
    counts: Counter[tuple[int, int]] = Counter()
    cited = Feedback.objects.filter(rating=-1, created_at__gte=start).values_list(
        "message__citations", flat=True
    )
    for citations in cited:
        for citation in citations or []:
            manual_id, page = citation.get("manual_id"), citation.get("page")
            if isinstance(manual_id, int) and isinstance(page, int):
                counts[(manual_id, page)] += 1
    return counts


def handoffs(*, start: datetime) -> dict[str, Any]:
    """Handoff rate (chats with a handoff among chats with a question), outcomes, waits."""
    chats = (
        Message.objects.filter(role=Message.Role.QUESTION, created_at__gte=start)
        .values("session")
        .distinct()
        .count()
    )
    window = Handoff.objects.filter(requested_at__gte=start)
    by_status = dict(
        window.values("status").annotate(count=Count("id")).values_list("status", "count")
    )
    by_reason = dict(
        window.values("reason").annotate(count=Count("id")).values_list("reason", "count")
    )
    handed = window.values("session").distinct().count()
    waits = sorted(
        (claimed - requested).total_seconds()
        for requested, claimed in window.filter(live=True, claimed_at__isnull=False).values_list(
            "requested_at", "claimed_at"
        )
    )
    return {
        "chats": chats,
        "handoffs": sum(by_status.values()),
        "rate": handed / chats if chats else 0.0,
        "by_status": [
            {"status": label, "count": by_status.get(value, 0)}
            for value, label in Handoff.Status.choices
        ],
        "by_reason": [
            {"reason": label, "count": by_reason.get(value, 0)}
            for value, label in Handoff.Reason.choices
        ],
        "wait_p50_seconds": statistics.median(waits) if waits else None,
        "wait_p90_seconds": waits[min(len(waits) - 1, int(len(waits) * 0.9))] if waits else None,
        "claimed": len(waits),
    }


def unanswered_questions(*, start: datetime, limit: int) -> list[tuple[int, str, str]]:
    """(question id, text, session id) of the newest unanswered questions in the window."""
    return [
        (pk, text, str(session_id))
        for pk, text, session_id in Message.objects.filter(
            role=Message.Role.ANSWER,
            state__in=UNANSWERED,
            created_at__gte=start,
            question__isnull=False,
        )
        .order_by("-created_at", "-pk")
        .values_list("question_id", "question__text", "session_id")[:limit]
    ]
