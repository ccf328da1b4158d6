"""Rows for the chat-page and transcript tests: a product, its manual, a conversation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from apps.manuals.models import Manual, ManualPage
from apps.manuals.selectors import first_document
from apps.manuals.services import attach_document
from apps.products.models import Brand, CatalogStamp, Product
from apps.products.prediction import refresh_index
from apps.products.selectors import CATALOG_VERSION_KEY
from apps.sessions.models import ChatSession, Feedback, Message

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_QUESTION = "Why does <script>alert('q')</script> <b>bold</b> appear?"


@dataclass
class Conversation:
    session: ChatSession
    product: Product
    manual: Manual
    question: Message
    answer: Message


def make_product(*, name: str = "Lumenvale LX-88 Stage Piano", catalog_id: str = "") -> Product:
    brand, _ = Brand.objects.get_or_create(slug="lumenvale", defaults={"name": "Lumenvale Audio"})
    manual = Manual.objects.create(
        title=f"{name} manual", status=Manual.Status.READY, page_count=28, progress=1.0
    )
    product = Product.objects.create(
        catalog_id=catalog_id or f"p-{uuid.uuid4().hex[:8]}",
        name=name,
        brand=brand,
        category="Stage Pianos",
        price=Decimal("4990.00"),
        currency="ILS",
    )
    attach_document(manual=manual, product=product)
    return product


def start_chat(client: Client) -> ChatSession:
    """A chat session owned by `client`'s cookie, created the way a browser creates one."""
    response = client.get("/chat/")
    assert response.status_code == 302
    session_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return ChatSession.objects.get(pk=session_id)


def add_exchange(
    *,
    session: ChatSession,
    product: Product,
    question: str,
    answer: str,
    state: str = Message.State.ANSWERED,
    page: int = 12,
    rating: int | None = None,
    comment: str = "",
) -> tuple[Message, Message]:
    asked = Message.objects.create(
        session=session, role=Message.Role.QUESTION, text=question, product=product
    )
    citations = (
        [
            {
                "manual_id": first_document(product=product).pk,
                "page": page,
                "snippet": "Hold SPLIT and press the key where the upper part begins.",
                "url": f"/manuals/{first_document(product=product).pk}/document#page={page}",
            }
        ]
        if state == Message.State.ANSWERED
        else []
    )
    answered = Message.objects.create(
        session=session,
        role=Message.Role.ANSWER,
        text=answer,
        product=product,
        question=asked,
        state=state,
        citations=citations,
        engine="extractive",
        first_delta_ms=41,
        total_ms=190,
    )
    if rating is not None:
        Feedback.objects.create(message=answered, rating=rating, comment=comment)
    return asked, answered


def conversation(
    client: Client, *, product_name: str = "Lumenvale LX-88 Stage Piano"
) -> Conversation:
    session = start_chat(client)
    product = make_product(name=product_name)
    session.product = product
    session.save(update_fields=["product"])
    question, answer = add_exchange(
        session=session,
        product=product,
        question="How do I split the keyboard?",
        answer="Hold SPLIT and press the key where the upper part should begin. [p. 12]",
    )
    return Conversation(session, product, first_document(product=product), question, answer)


MANUAL_PAGES = {
    8: "Sounds. The LX-88 has 42 sounds in six categories: pianos, electric pianos, organs, "
    "strings, pads and synths. Turn the SOUND dial to choose a category.",
    9: "Split and layer. To change the split point, hold the SPLIT button and press the key "
    "where the upper part should begin. The default split point is F#3. To layer two sounds, "
    "press LAYER and choose the second sound.",
    22: "Factory reset. Hold STORE and EXIT while you switch the piano on. All Favorites are "
    "erased and every setting returns to the factory value.",
}


def make_answerable_product(*, status: str = Manual.Status.READY) -> Product:
    """The LX-88 with a short manual whose pages can answer real questions."""
    product = make_product(name="Lumenvale LX-88 Stage Piano", catalog_id="lumenvale-lx-88")
    manual = first_document(product=product)
    manual.status = status
    manual.source_url = "https://manuals.example.invalid/lx-88.pdf"
    manual.page_count = len(MANUAL_PAGES)
    manual.version = 1
    if status != Manual.Status.READY:
        # A fetch is under way elsewhere: nothing in the test queues another (or goes online).
        manual.lease_token = "elsewhere"
        manual.lease_until = timezone.now() + timedelta(minutes=10)
    manual.save()
    if status == Manual.Status.READY:
        add_manual_pages(manual)
    renew_prediction_index()
    return product


def renew_prediction_index() -> None:
    """Make this process's prediction index read the products of this test.

    Version numbers repeat after a test's tables are flushed, so a fresh random version is
    what tells the index its catalog changed.
    """
    CatalogStamp.objects.all().delete()
    CatalogStamp.objects.create(version=uuid.uuid4().int >> 80)
    cache.delete(CATALOG_VERSION_KEY)
    refresh_index()


def add_manual_pages(manual: Manual) -> None:
    ManualPage.objects.bulk_create(
        ManualPage(manual=manual, number=number, text=text) for number, text in MANUAL_PAGES.items()
    )


def finish_fetch(manual_id: int) -> None:
    """What the fetch worker does at the end: pages stored, the manual ready."""
    manual = Manual.objects.get(pk=manual_id)
    add_manual_pages(manual)
    Manual.objects.filter(pk=manual_id).update(
        status=Manual.Status.READY, progress=1.0, version=2, lease_token="", lease_until=None
    )
