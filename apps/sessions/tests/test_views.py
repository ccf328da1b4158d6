from __future__ import annotations

import pytest
from django.test import Client

from apps.sessions.models import ChatSession

pytestmark = pytest.mark.django_db


def test_starting_a_chat_creates_a_session_owned_by_the_browser_and_redirects():
    client = Client()
    response = client.get("/chat/")
    assert response.status_code == 302
    chat = ChatSession.objects.get()
    assert response["Location"] == f"/chat/{chat.pk}/"
    assert chat.owner_key == client.session.session_key


def test_the_page_carries_the_session_and_socket_path():
    client = Client()
    location = client.get("/chat/")["Location"]
    page = client.get(location)
    chat = ChatSession.objects.get()
    assert page.status_code == 200
    assert f'data-session-id="{chat.pk}"' in page.text
    assert f'data-ws-path="/ws/chat/{chat.pk}/"' in page.text


def test_another_browser_gets_404():
    location = Client().get("/chat/")["Location"]
    assert Client().get(location).status_code == 404
    assert Client().get("/chat/00000000-0000-4000-8000-000000000000/").status_code == 404
