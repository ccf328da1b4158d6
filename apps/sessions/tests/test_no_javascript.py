"""The question and feedback forms over plain HTTP, as a browser without JavaScript posts them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.manuals.selectors import first_document
from apps.sessions.models import Feedback, Message
from apps.sessions.tests.page_data import make_answerable_product, start_chat

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_question_form_answers_and_the_page_shows_the_saved_answer(client: Client):
    product = make_answerable_product()
    session = start_chat(client)
    response = client.post(
        f"/chat/{session.pk}/ask",
        {"text": "How do I change the split point?", "product_id": product.catalog_id},
    )
    answer = Message.objects.get(session=session, role=Message.Role.ANSWER)
    assert response.status_code == 302
    assert response["Location"] == f"/chat/{session.pk}/#message-{answer.pk}"
    assert answer.state == Message.State.ANSWERED

    html = client.get(f"/chat/{session.pk}/").content.decode()
    assert "How do I change the split point?" in html
    item = re.search(
        rf'<li class="msg msg-answer"[^>]*id="message-{answer.pk}".*?</li>', html, re.S
    )
    assert item is not None
    assert f'href="/manuals/{first_document(product=product).pk}/document#page=9"' in item.group(0)


def test_the_question_form_finds_the_product_named_in_the_question(client: Client):
    make_answerable_product()
    session = start_chat(client)
    client.post(f"/chat/{session.pk}/ask", {"text": "LX-88: how do I do a factory reset?"})
    answer = Message.objects.get(session=session, role=Message.Role.ANSWER)
    assert answer.product is not None and answer.product.catalog_id == "lumenvale-lx-88"
    assert {c["page"] for c in answer.citations} >= {22}


def test_an_unknown_product_is_reported_on_the_page(client: Client):
    session = start_chat(client)
    response = client.post(
        f"/chat/{session.pk}/ask", {"text": "How?", "product_id": "no-such-product"}, follow=True
    )
    assert "There is no such product in the catalog." in response.content.decode()


def test_the_feedback_form_saves_a_rating_with_a_comment(client: Client):
    product = make_answerable_product()
    session = start_chat(client)
    client.post(
        f"/chat/{session.pk}/ask",
        {"text": "How do I change the split point?", "product_id": product.catalog_id},
    )
    answer = Message.objects.get(session=session, role=Message.Role.ANSWER)
    response = client.post(
        f"/chat/{session.pk}/feedback",
        {"message_id": answer.pk, "rating": "-1", "comment": "Which octave is F#3?"},
    )
    assert response["Location"] == f"/chat/{session.pk}/#message-{answer.pk}"
    feedback = Feedback.objects.get(message=answer)
    assert (feedback.rating, feedback.comment) == (-1, "Which octave is F#3?")
    html = client.get(f"/chat/{session.pk}/").content.decode()
    assert re.search(r'value="-1" aria-pressed="true"', html)


def test_feedback_on_another_sessions_answer_is_not_found(client: Client):
    product = make_answerable_product()
    other = Client()
    theirs = start_chat(other)
    other.post(
        f"/chat/{theirs.pk}/ask",
        {"text": "How do I change the split point?", "product_id": product.catalog_id},
    )
    answer = Message.objects.get(session=theirs, role=Message.Role.ANSWER)
    mine = start_chat(client)
    response = client.post(f"/chat/{mine.pk}/feedback", {"message_id": answer.pk, "rating": "1"})
    assert response.status_code == 404
    assert not Feedback.objects.exists()
