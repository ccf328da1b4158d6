from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.manuals.models import Manual
from apps.sessions.models import Message
from apps.sessions.tests.page_data import (
    HOSTILE_NAME,
    HOSTILE_QUESTION,
    add_exchange,
    conversation,
    make_product,
    start_chat,
)

pytestmark = pytest.mark.django_db


def test_the_page_renders_the_history_with_citation_links_to_the_cited_page(client: Client):
    chat = conversation(client)
    html = client.get(f"/chat/{chat.session.pk}/").content.decode()
    assert "How do I split the keyboard?" in html
    assert f'id="message-{chat.answer.pk}"' in html
    link = f'href="/manuals/{chat.manual.pk}/document#page=12" target="_blank"'
    assert link in html


def test_the_page_body_names_the_session_and_its_socket(client: Client):
    session = start_chat(client)
    html = client.get(f"/chat/{session.pk}/").content.decode()
    body = re.search(r"<body[^>]*>", html).group(0)
    assert f'data-session-id="{session.pk}"' in body
    assert f'data-ws-path="/ws/chat/{session.pk}/"' in body


def test_the_page_has_no_inline_script(client: Client):
    session = start_chat(client)
    html = client.get(f"/chat/{session.pk}/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts, "the page loads its script"
    for attributes, content in scripts:
        # chat.js, and handoff.js for live support: our own static files only.
        assert re.search(r'src="/static/chat/(chat|handoff)\.js"', attributes)
        assert content.strip() == ""
    assert not re.search(r"<[^>]+\son[a-z]+=", html), "no inline event handlers"


def test_a_hostile_product_name_and_question_render_as_text(client: Client):
    chat = conversation(client, product_name=HOSTILE_NAME)
    add_exchange(
        session=chat.session,
        product=chat.product,
        question=HOSTILE_QUESTION,
        answer="It says <i>nothing</i> about <script>alert(2)</script>. [p. 3]",
        state=Message.State.NOT_IN_MANUAL,
    )
    html = client.get(f"/chat/{chat.session.pk}/").content.decode()
    assert "<img src=x" not in html
    assert "<script>alert" not in html
    assert "<b>bold</b>" not in html
    assert "<i>nothing</i>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # in the card and the transcript
    assert "&lt;script&gt;alert(&#x27;q&#x27;)&lt;/script&gt;" in html


def test_the_product_in_focus_shows_as_a_card_with_price_and_manual_status(client: Client):
    chat = conversation(client)
    html = client.get(f"/chat/{chat.session.pk}/").content.decode()
    card = re.search(r'<article class="card".*?</article>', html, re.S).group(0)
    assert f'data-product-id="{chat.product.catalog_id}"' in card
    assert "Lumenvale LX-88 Stage Piano" in card
    assert "₪4,990.00" in card
    assert "Manual ready · 28 pages" in card
    assert " hidden" not in card.split(">", 1)[0]


def test_states_other_than_answered_are_labelled_in_words(client: Client):
    chat = conversation(client)
    add_exchange(
        session=chat.session,
        product=chat.product,
        question="What are your opening hours?",
        answer="The LX-88 manual does not cover that.",
        state=Message.State.NOT_IN_MANUAL,
    )
    html = client.get(f"/chat/{chat.session.pk}/").content.decode()
    assert re.search(r'<p class="msg-state">\s*Not covered in the manual\s*</p>', html)


def test_the_saved_messages_are_served_as_json_to_their_owner_only(client: Client):
    chat = conversation(client)
    response = client.get(f"/chat/{chat.session.pk}/messages")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    question, answer = response.json()["messages"]
    assert question["role"] == "question"
    assert answer["question_id"] == question["id"] == chat.question.pk
    assert answer["state"] == "answered"
    assert answer["citations"][0]["url"] == f"/manuals/{chat.manual.pk}/document#page=12"
    assert Client().get(f"/chat/{chat.session.pk}/messages").status_code == 404


def test_a_stranger_cannot_post_a_question_or_feedback(client: Client):
    chat = conversation(client)
    stranger = Client()
    assert stranger.post(f"/chat/{chat.session.pk}/ask", {"text": "hi"}).status_code == 404
    feedback = {"message_id": chat.answer.pk, "rating": 1}
    assert stranger.post(f"/chat/{chat.session.pk}/feedback", feedback).status_code == 404


def test_the_question_form_needs_the_csrf_token(client: Client):
    checked = Client(enforce_csrf_checks=True)
    session = start_chat(checked)
    response = checked.post(f"/chat/{session.pk}/ask", {"text": "How do I split?"})
    assert response.status_code == 403
    assert not Message.objects.filter(session=session).exists()


def test_an_empty_question_is_sent_back_with_a_message(client: Client):
    session = start_chat(client)
    response = client.post(f"/chat/{session.pk}/ask", {"text": "   "})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_a_product_with_a_manual_still_downloading_shows_its_progress(client: Client):
    session = start_chat(client)
    product = make_product(name="Lumenvale LP-4 Looper")
    Manual.objects.filter(links__product=product).update(status="fetching", progress=0.4)
    session.product = product
    session.save()
    html = client.get(f"/chat/{session.pk}/").content.decode()
    assert "Downloading the manual… 40%" in html
    progress = re.search(r"<progress[^>]*>", html).group(0)
    assert 'value="0.4"' in progress
    assert "hidden" not in progress
