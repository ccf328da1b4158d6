"""The chat in Hebrew and English: chosen from the browser, switchable, kept per chat."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from apps.sessions import answering, protocol
from apps.sessions.models import ChatSession
from apps.sessions.templatetags.chat_format import card_price, state_label
from apps.sessions.texts import money

pytestmark = pytest.mark.django_db


def _start(client: Client, **headers: str) -> tuple[ChatSession, str]:
    return _start_at(client, "/chat/", **headers)


def _start_at(client: Client, url: str, **headers: str) -> tuple[ChatSession, str]:
    location = client.get(url, headers=headers)["Location"]
    return ChatSession.objects.get(pk=location.split("/")[2]), location


def test_a_hebrew_browser_gets_the_chat_in_hebrew_right_to_left():
    client = Client()
    chat, location = _start(client, accept_language="he-IL,he;q=0.9,en;q=0.5")
    assert chat.language == "he"
    page = client.get(location).text
    assert '<html lang="he" dir="rtl">' in page
    assert "השאלה שלכם" in page
    assert ">Your question<" not in page
    # The switch offers the other language, in its own name.
    assert 'name="language" value="en"' in page


def test_an_english_browser_gets_english_left_to_right():
    client = Client()
    chat, location = _start(client, accept_language="en-US,en;q=0.9")
    assert chat.language == "en"
    page = client.get(location).text
    assert '<html lang="en" dir="ltr">' in page
    assert "Your question" in page


def test_a_link_with_lang_starts_the_chat_in_that_language():
    client = Client()
    chat, location = _start_at(client, "/chat/?lang=he", accept_language="en-US,en;q=0.9")
    assert chat.language == "he"
    assert '<html lang="he" dir="rtl">' in client.get(location).text
    # Only that chat: the next one follows the browser again, and a language we do not
    # serve is the browser's too.
    assert _start(client, accept_language="en")[0].language == "en"
    assert _start_at(client, "/chat/?lang=fr", accept_language="he")[0].language == "he"


def test_the_switch_changes_the_chat_and_the_chats_started_later():
    client = Client()
    chat, location = _start(client, accept_language="en")
    response = client.post(f"{location}language", {"language": "he"})
    assert response.status_code == 302
    chat.refresh_from_db()
    assert chat.language == "he"
    # The chat stays Hebrew even though the browser still says English.
    assert 'dir="rtl"' in client.get(location, headers={"accept_language": "en"}).text
    later, _ = _start(client, accept_language="en")
    assert later.language == "he"


def test_the_switch_refuses_a_language_we_do_not_serve_and_a_stranger():
    client = Client()
    chat, location = _start(client)
    assert client.post(f"{location}language", {"language": "fr"}).status_code == 400
    assert Client().post(f"{location}language", {"language": "he"}).status_code == 404
    chat.refresh_from_db()
    assert chat.language == "en"


def test_the_page_carries_the_script_sentences_in_its_language():
    client = Client()
    _chat, location = _start(client, accept_language="he")
    page = client.get(location).text
    block = re.search(r'data-strings="([^"]*)"', page)
    assert block is not None
    strings = json.loads(html.unescape(block.group(1)))
    assert strings["Looking it up…"] == "מחפש…"
    assert strings["Not covered in the manual"] == "המדריך לא מכסה את זה"
    assert strings["A question for our staff"] == "שאלה לצוות שלנו"


def test_a_shop_question_the_catalog_cannot_answer_is_labelled_for_the_staff():
    with translation.override("he"):
        assert state_label("not_in_manual", "catalog") == "שאלה לצוות שלנו"
        assert state_label("not_in_manual", "extractive") == "המדריך לא מכסה את זה"
    with translation.override("en"):
        assert state_label("not_in_manual") == "Not covered in the manual"
        assert state_label("answered", "catalog") == "From the manual"


def test_user_and_manual_text_is_marked_dir_auto():
    client = Client()
    _chat, location = _start(client, accept_language="he")
    page = client.get(location).text
    assert re.search(r'<textarea id="question"[^>]*dir="auto"', page)
    assert 'class="msg-text" dir="auto"' in page  # the templates chat.js clones


def test_prices_follow_the_language_in_shekels():
    card = {"price": "4990", "currency": "ILS"}
    with translation.override("en"):
        assert card_price(card) == "₪4,990.00"
    with translation.override("he"):
        assert card_price(card) == "\u200f4,990.00\xa0\u200f₪"
    with translation.override("en"):
        assert money(Decimal("12.5"), "") == "12.50"


@pytest.mark.parametrize(
    ("text", "lang", "session_language", "expected"),
    [
        ("איך מפצלים את המקלדת ב-LX-88?", None, "en", "he"),
        ("How do I split the keyboard on the LX-88?", None, "he", "en"),
        ("RD-88?", None, "he", "he"),  # no words to tell by: the chat's language
        ("How do I split the keyboard?", "he", "en", "he"),  # the client asked for Hebrew
        ("How do I split the keyboard?", "fr", "he", "en"),  # not served: the question's
    ],
)
def test_the_answer_language(text: str, lang: str | None, session_language: str, expected: str):
    assert (
        answering.answer_language(text=text, lang=lang, session_language=session_language)
        == expected
    )


def test_lang_on_ask_is_a_language_tag():
    assert protocol.lang_field({"lang": "he-IL"}) == "he"
    assert protocol.lang_field({}) is None
    for bad in ("", "hebrew!", 5, "x" * 40):
        with pytest.raises(protocol.ProtocolError):
            protocol.lang_field({"lang": bad})


@pytest.mark.django_db(transaction=True)
def test_the_no_product_answer_is_written_in_the_question_language():
    client = Client()
    chat, location = _start(client, accept_language="en")
    client.post(f"{location}ask", {"text": "שלום, יש לי שאלה על הכלי שלי"})
    answer = chat.messages.filter(role="answer").get()
    assert answer.text.startswith("לא הצלחתי להבין")


def test_the_sources_of_an_answer_from_two_documents_say_whose_page_each_is():
    from django.template.loader import render_to_string

    def cite(document: str, page: int) -> dict:
        return {"manual_id": page, "page": page, "document": document, "url": "/m", "snippet": ""}

    message = {
        "id": 7,
        "role": "answer",
        "state": "answered",
        "text": "Hold the button. [p. 3] Send 0x06. [p. 5]",
        "citations": [cite("N32B Owner's manual", 3), cite("N32B MIDI implementation", 5)],
    }
    session = {"id": "00000000-0000-4000-8000-000000000000"}
    html = render_to_string("chat/_message.html", {"message": message, "session": session})
    assert '<span class="source-document" dir="auto">N32B MIDI implementation</span>, ' in html
    message["citations"] = [cite("N32B Owner's manual", 3), cite("N32B Owner's manual", 4)]
    html = render_to_string("chat/_message.html", {"message": message, "session": session})
    assert "source-document" not in html  # one document: the answer already names it
