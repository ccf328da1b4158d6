"""What customers trip over, server side (issue 18): the no-JavaScript path keeps the product,
a no_product answer offers products and a search, earlier conversations, a clear page for a
conversation of another browser, the no_manual text, the favicon, the sources' snippets."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from apps.products.models import Brand, Product
from apps.sessions import answering
from apps.sessions.models import ChatSession, Message
from apps.sessions.templatetags.chat_format import source_snippet
from apps.sessions.tests.page_data import (
    add_exchange,
    make_answerable_product,
    make_product,
    renew_prediction_index,
    start_chat,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _ask_over_http(client: Client, session: ChatSession, text: str, product_id: str = "") -> str:
    response = client.post(f"/chat/{session.pk}/ask", {"text": text, "product_id": product_id})
    assert response.status_code == 302
    return client.get(f"/chat/{session.pk}/").content.decode()


def _card_name(html: str) -> str:
    found = re.search(r'<h3 class="card-name"[^>]*>([^<]*)</h3>', html)
    return found.group(1) if found else ""


def test_without_javascript_the_card_shows_the_answered_product_and_follow_ups_keep_it(
    client: Client,
):
    product = make_answerable_product()
    session = start_chat(client)
    html = _ask_over_http(client, session, "How do I change the split point on my LX-88?")
    assert _card_name(html) == product.name
    assert f'name="product_id" id="ask-product-id" value="{product.catalog_id}"' in html

    # The follow-up names no product: the page sends the one in focus, and it is kept.
    html = _ask_over_http(
        client, session, "And how do I do a factory reset?", product_id=product.catalog_id
    )
    last = Message.objects.filter(session=session, role=Message.Role.ANSWER).last()
    assert last.product_id == product.pk and last.state != Message.State.NO_PRODUCT
    assert _card_name(html) == product.name


def test_without_javascript_a_question_naming_another_product_is_not_forced_onto_the_focus(
    client: Client,
):
    piano = make_answerable_product()
    looper = make_product(name="Lumenvale LP-4 Looper", catalog_id="lumenvale-lp-4")
    renew_prediction_index()
    session = start_chat(client)
    _ask_over_http(client, session, "How do I record a loop on the LP-4 Looper?", piano.catalog_id)
    last = Message.objects.filter(session=session, role=Message.Role.ANSWER).last()
    assert last.product_id == looper.pk


def test_the_page_says_what_its_form_does_without_javascript(client: Client):
    session = start_chat(client)
    html = client.get(f"/chat/{session.pk}/").content.decode()
    hint = re.search(r'<p class="ask-hint"[^>]*>([^<]*)</p>', html, re.S)
    assert hint is not None and "Press Enter" not in hint.group(1)
    assert "Send posts your question" in hint.group(1)
    assert 'data-live-hint="Press Enter to send, Shift+Enter for a new line."' in html


def _lumenvale_catalog() -> list[Product]:
    piano = make_answerable_product()
    looper = make_product(name="Lumenvale LP-4 Looper", catalog_id="lumenvale-lp-4")
    boss = Brand.objects.create(name="Boss", slug="boss")
    Product.objects.create(catalog_id="boss-rc-600", name="Boss RC-600", brand=boss)
    renew_prediction_index()
    return [piano, looper]


async def _run_ask(session: ChatSession, text: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def keep(message: dict[str, Any]) -> None:
        sent.append(message)

    await answering.run_ask(session=session, text=text, product_id=None, ref="q1", send=keep)
    return sent


def test_a_brand_only_question_is_offered_that_brands_products_over_the_socket():
    lumenvale = _lumenvale_catalog()
    session = ChatSession.objects.create(owner_key="owner")
    sent = async_to_sync(_run_ask)(session, "my Lumenvale makes no sound")
    end = next(m for m in sent if m["type"] == "answer_end")
    assert end["state"] == "no_product"
    prediction = sent[-1]
    assert prediction["type"] == "prediction" and prediction["ref"] == "q1"
    offered = {c["product"]["id"] for c in prediction["candidates"]}
    assert offered == {product.catalog_id for product in lumenvale}


def test_after_a_no_product_answer_the_page_offers_products_and_a_search_without_javascript(
    client: Client,
):
    piano, looper = _lumenvale_catalog()
    session = start_chat(client)
    html = _ask_over_http(client, session, "my Lumenvale makes no sound")
    chips = re.findall(
        r'<button class="chip" type="submit" name="product_id" value="([^"]+)"', html
    )
    assert set(chips) == {piano.catalog_id, looper.catalog_id}
    # A chip sends the product's name: the customer's reply to "which product?".
    assert f'name="text" value="{piano.name}"' in html
    assert 'id="find-product" name="find"' in html
    # "Which product?" is asked back, not an answer to rate.
    asked = Message.objects.get(session=session, state=Message.State.NO_PRODUCT)
    assert f'name="message_id" value="{asked.pk}"' not in html

    # The chip's reply has the question before it answered about that product.
    client.post(f"/chat/{session.pk}/ask", {"text": piano.name, "product_id": piano.catalog_id})
    last = Message.objects.filter(session=session, role=Message.Role.ANSWER).last()
    assert last.product_id == piano.pk and last.state != Message.State.NO_PRODUCT
    assert last.question.text == piano.name

    found = client.get(f"/chat/{session.pk}/?find=RC-600").content.decode()
    assert re.findall(r'name="product_id" value="([^"]+)"', found)[:1] == ["boss-rc-600"]


def test_a_question_naming_nothing_still_gets_the_search_box(client: Client):
    _lumenvale_catalog()
    session = start_chat(client)
    html = _ask_over_http(client, session, "hello, can you help me?")
    assert 'class="chips is-question"' in html
    assert 'id="find-product" name="find"' in html
    assert "No product matches that yet" in html


def test_the_home_page_lists_this_browsers_conversations_that_have_questions(client: Client):
    product = make_product()
    mine = start_chat(client)
    add_exchange(session=mine, product=product, question="How do I split?", answer="Hold [p. 1]")
    start_chat(client)  # empty: not listed
    other = Client()
    theirs = start_chat(other)
    add_exchange(session=theirs, product=product, question="Someone else's", answer="No [p. 2]")

    html = client.get("/").content.decode()
    assert "Your earlier conversations" in html
    assert f'href="/chat/{mine.pk}/"' in html and "How do I split?" in html
    assert str(theirs.pk) not in html and "Someone else&#x27;s" not in html
    assert "Your earlier conversations" not in Client().get("/").content.decode()


def test_a_conversation_of_another_browser_gets_a_clear_page_that_reveals_nothing(
    client: Client,
):
    product = make_product(name="Secret Synth 3000")
    session = start_chat(client)
    add_exchange(session=session, product=product, question="My private question", answer="x")
    stranger = Client()
    theirs = stranger.get(f"/chat/{session.pk}/")
    missing = stranger.get(f"/chat/{uuid.uuid4()}/")
    assert theirs.status_code == missing.status_code == 404
    body = theirs.content.decode()
    assert "only in the browser that started it" in body and 'href="/chat/"' in body
    for secret in ("My private question", "Secret Synth 3000"):
        assert secret not in body

    # Apart from the address the stranger typed (and a form's CSRF token), the pages are one.
    def bare(response: Any) -> str:
        page = response.content.decode().replace(response.wsgi_request.path, "PATH")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert bare(theirs) == bare(missing), "a stranger cannot tell it exists"


def test_no_manual_says_what_the_customer_can_do():
    from apps.manuals.services.answering import no_manual

    product = make_product(name="Boss RC-600", catalog_id="boss-rc-600")
    product.product_url = "https://boss.example/rc-600"
    text = no_manual(product, "the catalog lists no manual for it", documents=False).text
    assert "What the catalog knows" not in text
    assert "product page" in text and "https://boss.example/rc-600" in text
    # No document to point at on the card: only the page and our staff.
    assert "ask our staff" in text and "product card" not in text
    product.product_url = ""
    failed = no_manual(product, "it failed", documents=True).text
    assert "Lumenvale Audio's website;" in failed
    assert "document listed on the product card" in failed
    # The brand's website, when the catalog has it, is given to open.
    product.brand.website = "https://lumenvale.example"
    linked = no_manual(product, "it failed", documents=False).text
    assert "Lumenvale Audio's website (https://lumenvale.example);" in linked


def test_favicon_ico_is_served_on_every_page(client: Client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/").content.decode()


def test_a_heading_as_snippet_gives_way_to_the_answers_words_for_that_page():
    text = "Hold SPLIT and press the key where the upper part begins. [p. 9] Press LAYER. [p. 10]"
    heading = {"page": 9, "snippet": "Split and layer"}
    assert source_snippet(heading, text) == (
        "Hold SPLIT and press the key where the upper part begins."
    )
    assert source_snippet({"page": 10, "snippet": "Layers"}, text) == "Press LAYER."
    sentence = {"page": 9, "snippet": "To change the split point, hold SPLIT and press a key."}
    assert source_snippet(sentence, text) == sentence["snippet"]
    assert source_snippet({"page": 4, "snippet": "Sounds"}, text) == "Sounds"
