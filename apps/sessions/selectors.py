"""Reads for chat sessions and the product cards their sockets send."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Count

from apps.manuals.selectors import card_with_documents, documents_of, manual_status_payload
from apps.products.models import Product
from apps.sessions.models import ChatSession, Message


def session_by_id(*, session_id: str | uuid.UUID) -> ChatSession | None:
    try:
        key = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except ValueError:
        return None
    return ChatSession.objects.filter(pk=key).first()


def session_for_owner(*, session_id: str | uuid.UUID, owner_key: str | None) -> ChatSession | None:
    """The session if `owner_key` owns it; None for a missing session and for a stranger alike."""
    session = session_by_id(session_id=session_id)
    if session is None or not owner_key or session.owner_key != owner_key:
        return None
    return session


def active_product(*, catalog_id: str) -> Product | None:
    return (
        Product.objects.filter(catalog_id=catalog_id, is_active=True)
        .select_related("brand", "family")
        .first()
    )


def product_cards(*, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Protocol product objects by primary key, in one query."""
    products = Product.objects.filter(pk__in=list(pks)).select_related("brand", "family")
    return {product.pk: card_with_documents(product=product) for product in products}


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


def active_product_by_pk(*, pk: int) -> Product | None:
    return Product.objects.filter(pk=pk, is_active=True).select_related("brand", "family").first()


def transcript(*, session: ChatSession) -> list[dict[str, Any]]:
    """The session's messages in order, as the page renders them and `/messages` returns them."""
    messages = (
        Message.objects.filter(session=session)
        .select_related("product", "feedback")
        .order_by("created_at", "id")
    )
    return [_message_payload(message) for message in messages]


def _message_payload(message: Message) -> dict[str, Any]:
    feedback = getattr(message, "feedback", None)
    product = message.product
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
    }


def most_asked_about_product_pks(*, limit: int) -> list[int]:
    """Active products with the most questions asked about them, most asked first."""
    return list(
        Message.objects.filter(
            role=Message.Role.QUESTION, product__isnull=False, product__is_active=True
        )
        .values("product")
        .annotate(questions=Count("id"))
        .order_by("-questions", "product")
        .values_list("product", flat=True)[:limit]
    )
