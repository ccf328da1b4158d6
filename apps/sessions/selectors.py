"""Reads for chat sessions and the product cards their sockets send."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Subquery

from apps.manuals.selectors import card_with_documents, documents_of, manual_status_payload
from apps.products.models import Product
from apps.products.prediction import get_index as get_prediction_index
from apps.products.selectors import product_card
from apps.sessions.models import ChatSession, Handoff, Message, Site


def session_by_id(*, session_id: str | uuid.UUID) -> ChatSession | None:
    key = _session_key(session_id)
    return None if key is None else ChatSession.objects.filter(pk=key).first()


def session_for_socket(*, session_id: str | uuid.UUID) -> ChatSession | None:
    """The session a socket opens, with `has_open_handoff`: one query where a connecting
    socket made two, since most sessions never ask for a person (each query cost the web
    process 1-3 ms of CPU while 2,000 customers connected)."""
    key = _session_key(session_id)
    if key is None:
        return None
    open_handoffs = Handoff.objects.filter(session=OuterRef("pk"), status__in=Handoff.OPEN)
    return (
        ChatSession.objects.filter(pk=key).annotate(has_open_handoff=Exists(open_handoffs)).first()
    )


def _session_key(session_id: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(session_id, uuid.UUID):
        return session_id
    try:
        return uuid.UUID(str(session_id))
    except ValueError:
        return None


def session_for_owner(*, session_id: str | uuid.UUID, owner_key: str | None) -> ChatSession | None:
    """The session if `owner_key` owns it; None for a missing session and for a stranger alike."""
    session = session_by_id(session_id=session_id)
    if session is None or not owner_key or session.owner_key != owner_key:
        return None
    return session


def active_product(*, catalog_id: str) -> Product | None:
    found = (
        Product.objects.filter(catalog_id=catalog_id, is_active=True)
        .select_related("brand", "family")
        .first()
    )
    if found is None:
        # A listing merged into another product: clients may still send its old id.
        found = (
            Product.objects.filter(merged_from__catalog_id=catalog_id, is_active=True)
            .select_related("brand", "family")
            .first()
        )
    return found


def product_cards(*, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Protocol product objects by primary key, in one query."""
    products = Product.objects.filter(pk__in=list(pks)).select_related("brand", "family")
    return {product.pk: card_with_documents(product=product) for product in products}


def product_suggestions(*, text: str, limit: int = 6) -> list[dict[str, Any]]:
    """Cards of the products to offer for `text` (a question naming no product for sure, or a
    name typed into the page's search box), best first."""
    candidates = get_prediction_index().suggest(text, limit=limit) if text else []
    products = Product.objects.filter(pk__in=[c.pk for c in candidates]).select_related("brand")
    cards = {product.pk: product_card(product=product) for product in products}
    return [cards[c.pk] for c in candidates if c.pk in cards]


def recent_conversations(*, owner_key: str | None, limit: int = 5) -> list[dict[str, Any]]:
    """The browser's latest conversations that have a question, newest first, each with its
    first question and the product it was about, for the home page."""
    if not owner_key:
        return []
    first_question = Message.objects.filter(
        session=OuterRef("pk"), role=Message.Role.QUESTION
    ).order_by("created_at", "pk")
    sessions = (
        ChatSession.objects.filter(owner_key=owner_key)
        .annotate(
            opening=Subquery(first_question.values("text")[:1]),
            questions=Count("messages", filter=Q(messages__role=Message.Role.QUESTION)),
        )
        .filter(questions__gt=0)
        .select_related("product")
        .order_by("-last_activity_at", "-created_at")
    )
    return [
        {
            "id": session.pk,
            "opening": session.opening,
            "questions": session.questions,
            "product_name": session.product.name if session.product else "",
            "last_activity_at": session.last_activity_at,
        }
        for session in sessions[:limit]
    ]


def focus_card(*, session: ChatSession) -> dict[str, Any] | None:
    """The card of the product in focus, with its manual's progress, for the page's first paint."""
    if session.product_id is None:
        return None
    product = active_product_by_pk(pk=session.product_id)
    if product is None:
        return None
    card = card_with_documents(product=product)
    for part, manual in zip(card["documents"], documents_of(product=product), strict=True):
        status = manual_status_payload(manual=manual)
        part |= {"progress": status["progress"], "error": status["error"]}
    if card["manual"] is not None:
        card["manual"] |= {key: card["documents"][0][key] for key in ("progress", "error")}
    return card


def active_site(*, key: str) -> Site | None:
    if not key:
        return None
    return Site.objects.filter(key=key[:64], is_active=True).first()


def product_for_page(*, catalog_id: str, url: str) -> Product | None:
    """The product a shop page is about: its catalog id, else the page's address as the
    catalog knows it (with or without a trailing slash or query)."""
    if catalog_id:
        product = active_product(catalog_id=catalog_id)
        if product is not None:
            return product
    address = url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    if not address.lower().startswith(("https://", "http://")):
        return None
    return (
        Product.objects.filter(is_active=True, product_url__in=[address, f"{address}/"])
        .select_related("brand", "family")
        .order_by("pk")
        .first()
    )


def active_product_by_pk(*, pk: int) -> Product | None:
    return Product.objects.filter(pk=pk, is_active=True).select_related("brand", "family").first()


def transcript(*, session: ChatSession) -> list[dict[str, Any]]:
    """The session's messages in order, as the page renders them and `/messages` returns them."""
    messages = (
        Message.objects.filter(session=session)
        .select_related("product", "feedback", "author")
        .order_by("created_at", "id")
    )
    return [message_payload(message) for message in messages]


def shown_name(user: Any) -> str | None:
    """The name customers see of a staff member: their first name. A login name ("demo",
    "dcohen") is not for customers; without a first name they are "our support team"."""
    if user is None:
        return None
    return user.get_short_name() or None


def message_payload(message: Message) -> dict[str, Any]:
    """One saved message as the page, `/messages` and the staff console show it."""
    feedback = getattr(message, "feedback", None)
    product = message.product
    author = message.author
    return {
        "id": message.pk,
        "role": message.role,
        "text": message.text,
        "question_id": message.question_id,
        "state": message.state,
        "citations": message.citations or [],
        "engine": message.engine,
        "took_ms": {"first_delta": message.first_delta_ms, "total": message.total_ms},
        "product": {"id": product.catalog_id, "name": product.name} if product else None,
        "product_name": product.name if product else "",
        "rating": feedback.rating if feedback else None,
        "comment": feedback.comment if feedback else "",
        "created_at": message.created_at.isoformat(),
        # An agent reply names its author as the customer sees them (protocol 1.1).
        "author": shown_name(author),
    }
