"""The no-JavaScript question form has the socket's limits (issue 14, item 13)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from apps.sessions.models import Message
from apps.sessions.ratelimit import QUESTION_SLOT_PREFIX

pytestmark = pytest.mark.django_db(transaction=True)


def _chat(client: Client) -> str:
    return client.get("/chat/")["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_a_second_question_while_one_is_answered_is_refused():
    client = Client()
    chat = _chat(client)
    cache.add(f"{QUESTION_SLOT_PREFIX}:{chat}", 1, timeout=30)  # an answer under way
    try:
        response = client.post(f"/chat/{chat}/ask", {"text": "how do I loop?"})
    finally:
        cache.delete(f"{QUESTION_SLOT_PREFIX}:{chat}")
    assert response.status_code == 429
    assert not Message.objects.filter(session_id=chat).exists()
    # Once the answer is done, the next question goes through (and frees its slot).
    assert client.post(f"/chat/{chat}/ask", {"text": "how do I loop?"}).status_code == 302
    assert client.post(f"/chat/{chat}/ask", {"text": "and reverse?"}).status_code == 302


def test_questions_past_the_address_limit_get_429_and_write_nothing(settings):
    settings.CHAT_ADDRESS_QUESTIONS_PER_MINUTE = 2
    client = Client(REMOTE_ADDR="198.51.100.23")
    chat = _chat(client)
    codes = [
        client.post(f"/chat/{chat}/ask", {"text": f"question {n}"}).status_code for n in range(4)
    ]
    assert codes == [302, 302, 429, 429]
    assert Message.objects.filter(session_id=chat, role=Message.Role.QUESTION).count() == 2
