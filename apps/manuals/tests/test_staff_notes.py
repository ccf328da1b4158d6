"""Staff notes in answers: approved notes answer what the manual does not, cited as the
shop's own information; pending or rejected notes are never quoted."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from apps.manuals.models import StaffNote
from apps.manuals.services import answering
from apps.manuals.services.staff_notes import save_note
from apps.manuals.tests.demo_data import product_with, ready_manual
from apps.products.models import Family
from hscjit import cache

pytestmark = pytest.mark.django_db(transaction=True)

WARRANTY = "The warranty in Israel is two years, at our service centre in Tel Aviv."


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    from django.core.cache import caches

    cache.reset_local_state()
    caches["default"].clear()


async def _answer(product: Any, text: str) -> tuple[Any, str]:
    pieces: list[str] = []

    async def emit(piece: str) -> None:
        pieces.append(piece)

    async def push_status(status: dict[str, Any]) -> None:
        return None

    found = await answering.answer_question(
        asked=answering.Asked(product=product, text=text, lang="en"),
        emit=emit,
        push_status=push_status,
    )
    return found, "".join(pieces)


async def test_an_approved_note_answers_what_the_manual_does_not_and_cites_the_shop() -> None:
    product = await database_sync_to_async(lambda: product_with(ready_manual()))()
    before, _ = await _answer(product, "How long is the warranty in Israel?")
    assert before.state == "not_in_manual"
    note = await database_sync_to_async(StaffNote.objects.create)(
        product=product, text=WARRANTY, language="en", status=StaffNote.Status.APPROVED
    )
    found, streamed = await _answer(product, "How long is the warranty in Israel?")
    assert found.state == "answered" and WARRANTY in streamed and streamed == found.text
    assert found.citations == [
        {
            "kind": "staff_note",
            "note_id": note.pk,
            "snippet": WARRANTY,
            "url": None,
            "manual_id": None,
            "page": None,
        }
    ]


async def test_a_note_waiting_for_review_is_never_quoted() -> None:
    product = await database_sync_to_async(lambda: product_with(ready_manual()))()
    await database_sync_to_async(StaffNote.objects.create)(product=product, text=WARRANTY)
    found, streamed = await _answer(product, "How long is the warranty in Israel?")
    assert found.state == "not_in_manual" and WARRANTY not in streamed


async def test_a_family_note_answers_for_a_product_without_a_manual() -> None:
    @database_sync_to_async
    def setup() -> Any:
        product = product_with(None)
        family = Family.objects.create(slug="lx", name="LX", brand=product.brand)
        product.family = family
        product.save(update_fields=["family"])
        StaffNote.objects.create(family=family, text=WARRANTY, status=StaffNote.Status.APPROVED)
        return product

    product = await setup()
    found, _ = await _answer(product, "warranty in Israel?")
    assert found.state == "answered" and found.citations[0]["kind"] == "staff_note"


async def test_a_manual_answer_stays_the_manuals_when_no_note_matches() -> None:
    product = await database_sync_to_async(lambda: product_with(ready_manual()))()
    await database_sync_to_async(StaffNote.objects.create)(
        product=product, text=WARRANTY, status=StaffNote.Status.APPROVED
    )
    found, _ = await _answer(product, "How do I change the split point?")
    assert found.state == "answered"
    assert all(c.get("kind") != "staff_note" for c in found.citations)


def test_saving_a_note_checks_its_scope_and_page_reference() -> None:
    product = product_with(ready_manual())
    agent = User.objects.create_user("dana", password="x")
    with pytest.raises(ValueError, match="family"):
        save_note(author=agent, product=product, text="x", on_family=True)
    with pytest.raises(ValueError, match="page"):
        save_note(author=agent, product=product, text="x", on_family=False, page=3)
    note = save_note(author=agent, product=product, text=" Store hours: 9-18 ", on_family=False)
    assert (note.text, note.status, note.created_by) == ("Store hours: 9-18", "pending", agent)
