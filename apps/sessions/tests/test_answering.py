"""The `ask` flow and feedback, through run_ask/save_feedback as the consumer calls them."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async

from apps.devtools.testing import eventually
from apps.manuals.answers import extractive
from apps.manuals.models import Manual
from apps.manuals.selectors import first_document
from apps.manuals.services import answering as answer_service
from apps.manuals.services import attach_document
from apps.manuals.tests.demo_data import product_with, ready_manual
from apps.products.models import Brand, Product
from apps.sessions import answering
from apps.sessions.models import ChatSession, Feedback, Message
from apps.sessions.shop_questions import shop_answer
from apps.sessions.tests.page_data import renew_prediction_index
from hscjit import cache

pytestmark = pytest.mark.django_db(transaction=True)
QUESTION = "How do I do a factory reset?"


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    from django.core.cache import caches

    cache.reset_local_state()
    caches["default"].clear()


@pytest.fixture
def prefetches(monkeypatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr(
        answer_service, "request_prefetch", lambda *, manual_id: queued.append(manual_id)
    )
    return queued


async def _ask(session: ChatSession, text: str = QUESTION, **options: Any) -> list[dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await answering.run_ask(
        session=session, text=text, product_id=options.get("product_id"), ref="q1", send=send
    )
    return sent


def _composed(monkeypatch: pytest.MonkeyPatch, argument: str) -> list[str]:
    """The `argument` of every answer the extractive engine composes from now on."""
    seen: list[str] = []
    compose = extractive.compose

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs[argument])
        return compose(**kwargs)

    monkeypatch.setattr(extractive, "compose", spy)
    return seen


def _setup(manual_name: str | None = "lumenvale-lx-88.pdf") -> tuple[ChatSession, Any]:
    manual = ready_manual(manual_name) if manual_name else None
    product = product_with(manual)
    return ChatSession.objects.create(owner_key="owner"), product


async def test_ask_streams_deltas_that_add_up_to_the_answer_and_saves_both_messages() -> None:
    session, product = await database_sync_to_async(_setup)()
    sent = await _ask(session, product_id=product.catalog_id)
    kinds = [message["type"] for message in sent]
    assert kinds[0] == "answer_start" and kinds[-1] == "answer_end"
    assert set(kinds[1:-1]) == {"answer_delta"}
    assert all(message["ref"] == "q1" for message in sent)
    start, end = sent[0], sent[-1]
    assert start["product"]["id"] == product.catalog_id
    assert "".join(m["text"] for m in sent[1:-1]) == end["text"]
    assert end["state"] == "answered" and end["engine"] == "extractive"
    assert {c["page"] for c in end["citations"]} == {22}
    assert set(end["took_ms"]) == {"first_delta", "total"}
    answer = await database_sync_to_async(Message.objects.get)(pk=end["message_id"])
    assert answer.role == "answer" and answer.question_id == start["question_id"]
    assert answer.text == end["text"] and answer.citations == end["citations"]
    assert answer.product_id == product.pk and answer.total_ms is not None


async def test_an_unknown_product_is_answered_not_found() -> None:
    session, _ = await database_sync_to_async(_setup)()
    sent = await _ask(session, product_id="no-such-product")
    assert [(m["type"], m["code"]) for m in sent] == [("error", "not_found")]


async def test_without_a_confident_prediction_it_answers_no_product_then_candidates() -> None:
    session, _ = await database_sync_to_async(_setup)()
    sent = await _ask(session, text="hello there")
    assert sent[-2]["type"] == "answer_end" and sent[-2]["state"] == "no_product"
    assert sent[-1]["type"] == "prediction" and sent[-1]["ref"] == "q1"


async def test_a_reply_naming_the_product_answers_the_question_that_asked_which(
    monkeypatch,
) -> None:
    session, product = await database_sync_to_async(_setup)()
    await database_sync_to_async(renew_prediction_index)()
    asked = _composed(monkeypatch, "question")
    sent = await _ask(session, text=QUESTION)
    assert sent[-2]["state"] == "no_product"
    sent = await _ask(session, text="lx88")
    assert sent[0]["product"]["id"] == product.catalog_id
    assert sent[-1]["state"] == "answered"
    assert {c["page"] for c in sent[-1]["citations"]} == {22}  # the factory reset's page
    assert asked == [QUESTION]
    saved = await database_sync_to_async(Message.objects.get)(pk=sent[0]["question_id"])
    assert saved.text == "lx88"  # the transcript keeps what the customer wrote
    # Only a reply to "which product?" is read so, and only one that asks nothing else.
    other = await database_sync_to_async(ChatSession.objects.create)(owner_key="other")
    await _ask(other, text=QUESTION)
    await _ask(other, text="lx88 how do I split the keyboard")
    assert asked[-1] == "lx88 how do I split the keyboard"
    # The name alone with no question waiting asks what the customer wants to know.
    sent = await _ask(session, text="lx88")
    assert asked[-1] == "lx88 how do I split the keyboard"  # no passage is about a name
    assert sent[-1]["text"] == (
        "What would you like to know about LX-88 Stage Piano? Ask in your own words."
    )
    assert sent[-1]["state"] == "answered" and sent[-1]["engine"] == "catalog"


async def test_a_reply_naming_the_product_is_answered_in_the_waiting_question_s_language() -> None:
    session, _ = await database_sync_to_async(_setup)()  # an English chat
    await database_sync_to_async(renew_prediction_index)()
    sent = await _ask(session, text="איך מחזירים להגדרות יצרן?")
    assert sent[-2]["state"] == "no_product" and sent[-2]["lang"] == "he"
    sent = await _ask(session, text="lx88")
    assert sent[-1]["lang"] == "he" and sent[-1]["engine"] == "extractive"
    assert "\u05d0" <= sent[-1]["text"][0] <= "\u05ea"  # framed in Hebrew
    # The name alone, with nothing waiting, is the chat's language.
    sent = await _ask(session, text="lx88")
    assert sent[-1]["lang"] == "en" and sent[-1]["text"].startswith("What would you like")


async def test_a_delivery_question_naming_no_product_goes_to_the_staff() -> None:
    session, _ = await database_sync_to_async(_setup)()
    sent = await _ask(session, text="do you ship to eilat?")
    end = sent[-1]
    assert end["type"] == "answer_end" and end["engine"] == "catalog"
    assert end["state"] == "not_in_manual"  # a person is offered, no product asked for
    assert end["text"].startswith("Our manuals and catalog do not cover buying, delivery")
    # A price needs its product: that is still asked back.
    sent = await _ask(session, text="how much is it?")
    assert sent[-2]["state"] == "no_product"


async def test_a_question_matching_no_product_is_not_told_to_pick_a_suggestion() -> None:
    session, _ = await database_sync_to_async(_setup)()
    sent = await _ask(session, text="hello there")
    assert sent[-1]["candidates"] == []
    assert "pick it from the suggestions" not in sent[-2]["text"]
    assert (
        "name its brand and model, in your question or in the product search box"
        in sent[-2]["text"]
    )


async def test_it_waits_for_a_manual_being_fetched_and_then_answers(settings, prefetches) -> None:
    settings.ANSWER_MANUAL_WAIT_SECONDS = 10
    session, product = await database_sync_to_async(_setup)()

    def start_fetching() -> Manual:
        manual = first_document(product=product)
        manual.status, manual.progress = Manual.Status.FETCHING, 0.3
        manual.save()
        return manual

    manual = await database_sync_to_async(start_fetching)()

    def finish() -> None:
        Manual.objects.filter(pk=manual.pk).update(status=Manual.Status.READY, version=2)

    async def later() -> None:
        # The prefetch is asked for right before the answer starts waiting for the manual.
        await eventually(lambda: prefetches, what="the answer asks for the manual")
        await database_sync_to_async(finish)()

    finisher = asyncio.create_task(later())
    sent = await _ask(session, product_id=product.catalog_id)
    await finisher
    statuses = [m["status"] for m in sent if m["type"] == "manual_status"]
    assert statuses == ["fetching", "ready"]
    assert all(m["product_id"] == product.catalog_id for m in sent if m["type"] == "manual_status")
    assert prefetches == [manual.pk]
    assert sent[-1]["state"] == "answered"


async def test_a_manual_still_not_ready_after_the_wait_answers_no_manual(
    settings, prefetches
) -> None:
    settings.ANSWER_MANUAL_WAIT_SECONDS = 0.3
    session, product = await database_sync_to_async(_setup)()
    await database_sync_to_async(Manual.objects.filter(links__product=product).update)(
        status=Manual.Status.QUEUED
    )
    sent = await _ask(session, product_id=product.catalog_id)
    end = sent[-1]
    assert end["state"] == "no_manual" and end["citations"] == []
    assert "still being fetched" in end["text"] and "ask our staff" in end["text"]


async def test_a_failed_manual_answers_no_manual_with_the_reason(prefetches) -> None:
    session, product = await database_sync_to_async(_setup)()
    await database_sync_to_async(Manual.objects.filter(links__product=product).update)(
        status=Manual.Status.FAILED, error="The vendor's site refused the download."
    )
    sent = await _ask(session, product_id=product.catalog_id)
    assert sent[-1]["state"] == "no_manual"
    assert "refused the download" in sent[-1]["text"]
    assert "https://lumenvale.example/lx-88" in sent[-1]["text"]


async def test_the_answer_is_saved_even_when_the_client_is_gone() -> None:
    session, product = await database_sync_to_async(_setup)()

    async def closed(message: dict) -> None:
        raise ConnectionError("socket closed")

    await answering.run_ask(
        session=session, text=QUESTION, product_id=product.catalog_id, ref=None, send=closed
    )
    answers = await database_sync_to_async(
        lambda: list(Message.objects.filter(session=session, role="answer"))
    )()
    assert len(answers) == 1 and answers[0].state == "answered"


async def test_a_repeated_question_on_the_same_manual_version_comes_from_the_cache(
    monkeypatch,
) -> None:
    session, product = await database_sync_to_async(_setup)()
    first = await _ask(session, product_id=product.catalog_id)

    def no_retrieval(**kwargs: Any) -> None:
        raise AssertionError("retrieval ran for a cached answer")

    monkeypatch.setattr(extractive, "compose", no_retrieval)
    # Another customer: in the same conversation the first answer would be context.
    other = await database_sync_to_async(ChatSession.objects.create)(owner_key="other")
    second = await _ask(other, text="  how do I do a FACTORY reset ", product_id=product.catalog_id)
    assert second[-1]["text"] == first[-1]["text"]
    assert second[-1]["message_id"] != first[-1]["message_id"]


async def test_feedback_is_stored_only_on_answers_of_the_same_session() -> None:
    session, product = await database_sync_to_async(_setup)()
    end = (await _ask(session, product_id=product.catalog_id))[-1]
    stranger = await database_sync_to_async(ChatSession.objects.create)(owner_key="other")
    with pytest.raises(LookupError):
        await answering.save_feedback(
            session=stranger, message_id=end["message_id"], rating=1, comment=""
        )
    question_id = end["message_id"] - 1
    with pytest.raises(LookupError):
        await answering.save_feedback(session=session, message_id=question_id, rating=1, comment="")
    await answering.save_feedback(
        session=session, message_id=end["message_id"], rating=1, comment=""
    )
    saved = await answering.save_feedback(
        session=session, message_id=end["message_id"], rating=-1, comment="Too short"
    )
    feedback = await database_sync_to_async(Feedback.objects.get)(message_id=saved)
    assert (feedback.rating, feedback.comment) == (-1, "Too short")
    with pytest.raises(ValueError):
        await answering.save_feedback(
            session=session, message_id=end["message_id"], rating=1, comment="x" * 2001
        )


def _two_documents() -> tuple[ChatSession, Any, Manual]:
    """A product whose owner's manual is the LP-4's and whose reference is the LX-88's."""
    looper = ready_manual("lumenvale-lp-4.pdf", title="LP-4 Owner's Manual")
    reference = ready_manual("lumenvale-lx-88.pdf", title="LX-88 Reference")
    Manual.objects.filter(pk=reference.pk).update(document_kind=Manual.DocumentKind.REFERENCE)
    product = product_with(looper)
    attach_document(manual=reference, product=product)
    return ChatSession.objects.create(owner_key="owner"), product, reference


async def test_a_question_only_the_second_document_covers_is_answered_from_it() -> None:
    session, product, reference = await database_sync_to_async(_two_documents)()
    sent = await _ask(session, text="How do I layer two sounds?", product_id=product.catalog_id)
    start, end = sent[0], sent[-1]
    assert [d["kind"] for d in start["product"]["documents"]] == ["owners_manual", "reference"]
    assert end["state"] == "answered"
    assert {c["manual_id"] for c in end["citations"]} == {reference.pk}


async def test_a_follow_up_naming_no_product_is_about_the_conversations_product(
    monkeypatch,
) -> None:
    session, product = await database_sync_to_async(_setup)("lumenvale-lp-4.pdf")
    await _ask(session, text="how do I overdub on a loop", product_id=product.catalog_id)
    seen = _composed(monkeypatch, "context")
    sent = await _ask(session, text="and how do I undo that?")
    assert sent[0]["product"]["id"] == product.catalog_id
    assert sent[-1]["state"] == "answered"
    assert "how do I overdub on a loop" in seen[0]
    # "Undo and redo" (p. 4), not the recording steps the last answer quoted at length.
    assert [citation["page"] for citation in sent[-1]["citations"]][:1] == [4]


@database_sync_to_async
def _focused_chat(*products: tuple[str, str, str, str]) -> ChatSession:
    """A chat about the first of the products (brand slug, brand, catalog id, name)."""
    made = [
        Product.objects.create(
            catalog_id=catalog_id,
            name=name,
            brand=Brand.objects.create(slug=slug, name=brand),
        )
        for slug, brand, catalog_id, name in products
    ]
    renew_prediction_index()
    return ChatSession.objects.create(owner_key="owner", product=made[0])


async def test_a_question_naming_another_product_as_strongly_as_the_focus_asks_which() -> None:
    session = await _focused_chat(
        ("mutable", "Mutable Instruments", "plaits", "Plaits"),
        ("mutable-2", "Mutable Instruments", "beads", "Beads"),
    )
    sent = await _ask(session, text="is beads louder than plaits")
    assert sent[0]["product"] is None
    assert sent[-2]["state"] == "no_product"
    offered = {candidate["product"]["id"] for candidate in sent[-1]["candidates"]}
    assert offered == {"beads", "plaits"}
    # A follow-up that names no product is still about the focus.
    sent = await _ask(session, text="and how do i power it?")
    assert sent[0]["product"]["id"] == "plaits"


async def test_a_product_named_beside_a_focus_that_everyday_words_put_is_answered() -> None:
    # Typing "can i make the big freq knob" made the Big Knob the focus; "plaits" names the
    # product meant, and "big" and "knob" are words of a question about it.
    session = await _focused_chat(
        ("mackie", "Mackie", "big-knob", "Big Knob Studio"),
        ("mutable", "Mutable Instruments", "plaits", "Plaits"),
    )
    sent = await _ask(session, text="can i make the big freq knob on plaits less sensitive")
    assert sent[0]["product"]["id"] == "plaits"


async def test_a_question_naming_another_brand_is_not_answered_about_the_focus() -> None:
    session = await _focused_chat(
        ("mutable", "Mutable Instruments", "plaits", "Plaits"),
        ("roland", "Roland", "td-07", "Roland TD-07KV"),
    )
    # A model the catalog does not list, of a brand it does.
    sent = await _ask(session, text="roland td17 how to connect it to my computer")
    assert sent[0]["product"] is None
    assert sent[-2]["state"] == "no_product"
    assert [c["product"]["id"] for c in sent[-1]["candidates"]] == ["td-07"]


async def test_a_price_question_is_answered_from_the_catalog() -> None:
    @database_sync_to_async
    def setup() -> tuple[ChatSession, Any]:
        session, product = _setup()
        product.price, product.currency = Decimal("4990"), "ILS"
        product.save()
        return session, product

    session, product = await setup()
    sent = await _ask(session, text="how much does it cost?", product_id=product.catalog_id)
    end = sent[-1]
    assert end["state"] == "answered" and end["engine"] == "catalog"
    assert end["text"].startswith("Our catalog lists LX-88 Stage Piano at ₪4,990.00.")
    assert "https://lumenvale.example/lx-88" in end["text"] and end["citations"] == []
    sent = await _ask(session, text="כמה עולה הפסנתר?", product_id=product.catalog_id)
    assert sent[-1]["engine"] == "catalog" and "לפי הקטלוג שלנו" in sent[-1]["text"]


async def test_without_a_listed_price_for_stock_or_buying_the_staff_are_offered() -> None:
    session, product = await database_sync_to_async(_setup)()
    for text, said in [
        ("what is the price?", "Our catalog lists no price for LX-88 Stage Piano."),
        ("do you have it in stock?", "Our catalog does not say whether LX-88 Stage Piano is"),
        ("can I pick it up in Haifa?", "Our manuals and catalog do not cover buying LX-88 Stage"),
    ]:
        end = (await _ask(session, text=text, product_id=product.catalog_id))[-1]
        assert end["engine"] == "catalog" and end["text"].startswith(said)
        # The state of an answer the manual does not cover: a person is offered after it.
        assert end["state"] == "not_in_manual"


@pytest.mark.parametrize(
    "text, shop",
    [
        ("whats the price of n32b", True),
        ("how much is the mackie 1402vlz4", True),
        ("how much does the katana cost", True),
        ("מה המחיר של הקטנה?", True),
        ("כמה זה עולה?", True),
        ("יש לכם את זה במלאי?", True),
        ("how much delay can I add?", False),
        ("למה הווליום עולה ויורד?", False),  # "goes up and down"
        ("how do I reset it?", False),
        ("can i buy it in tel aviv", True),
        ("can i buy the marbles in tel aviv?", True),
        ("do you sell the n32b?", True),
        ("איפה קונים את הביידס?", True),
        ("צריך לקנות כבל?", False),
        ("do you ship to eilat?", True),
        ("אפשר לקנות אותו בחנות בתל אביב?", True),
        ("יש משלוח לחיפה?", True),
        ("איפה הסניף שלכם?", True),
        ("do I need to buy a cable?", False),  # an accessory: the manual's
        ("i bought it and it wont turn on", False),
        ("do i need proof of purchase for the warranty?", False),
        ("how do I store a preset?", False),
        ("does the supply deliver 12 V?", False),
    ],
)
def test_the_words_that_ask_for_a_price_or_stock_or_where_to_buy(text: str, shop: bool) -> None:
    product = Product(name="N32B", price=None)
    assert (shop_answer(product, text) is not None) is shop


async def test_passages_are_ranked_on_the_answer_threads_not_the_shared_one(monkeypatch) -> None:
    session, product = await database_sync_to_async(_setup)()
    threads: list[str] = []
    compose = extractive.compose

    def spy(**kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return compose(**kwargs)

    monkeypatch.setattr(extractive, "compose", spy)
    await _ask(session, product_id=product.catalog_id)
    assert threads and threads[0].startswith("answer-ranking")
