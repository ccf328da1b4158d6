"""A socket closed by the server in the middle of an answer, and the page catching up.

The answer is still waiting for its manual when the server closes the socket (here because
the client broke the frame limit; a deploy or a crashed instance looks the same to the page).
The server finishes and saves the answer anyway; after reconnecting, the page reads it from
`/chat/<id>/messages`, which is what chat.js does on every reconnect.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from apps.devtools.testing import eventually
from apps.manuals.models import Manual
from apps.manuals.selectors import first_document
from apps.sessions.models import Message
from apps.sessions.tests.page_data import finish_fetch, make_answerable_product, start_chat
from apps.sessions.tests.sockets import client_socket, receive_type

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "How do I change the split point?"


async def _saved_answer(question_id: int) -> Message:
    return await eventually(
        database_sync_to_async(
            Message.objects.filter(question_id=question_id, role=Message.Role.ANSWER).first
        ),
        within=20,
        what="the interrupted answer is saved",
    )


async def test_an_answer_cut_off_by_a_server_close_is_complete_after_reconnecting(
    client: Client,
):
    product = await database_sync_to_async(make_answerable_product)(status=Manual.Status.FETCHING)
    session = await database_sync_to_async(start_chat)(client)

    first = client_socket(client, session.pk)
    assert (await first.connect())[0]
    await first.send_json_to(
        {"type": "ask", "ref": "q1", "text": QUESTION, "product_id": product.catalog_id}
    )
    start = await receive_type(first, "answer_start")
    waiting = await receive_type(first, "manual_status")
    assert waiting["status"] == "fetching"

    await first.send_to(text_data="x" * (settings.CHAT_MAX_FRAME_BYTES + 1))
    closed = await first.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": 1009}
    await first.disconnect()

    # The download finishes while the customer is away.
    manual = await database_sync_to_async(first_document)(product=product)
    await database_sync_to_async(finish_fetch)(manual.pk)
    answer = await _saved_answer(start["question_id"])

    second = client_socket(client, session.pk)
    assert (await second.connect())[0]
    await second.send_json_to({"type": "ping", "ref": "p1"})
    assert (await receive_type(second, "pong"))["ref"] == "p1"
    await second.disconnect()

    response = await database_sync_to_async(client.get)(f"/chat/{session.pk}/messages")
    saved = {message["id"]: message for message in response.json()["messages"]}
    caught_up = saved[answer.pk]
    assert caught_up["question_id"] == start["question_id"]
    assert caught_up["state"] == "answered"
    assert caught_up["text"] == answer.text and "[p. 9]" in caught_up["text"]
    assert caught_up["citations"][0]["url"] == f"/manuals/{manual.pk}/document#page=9"

    page = await database_sync_to_async(client.get)(f"/chat/{session.pk}/")
    assert f'id="message-{answer.pk}"' in page.content.decode()


async def test_an_answer_that_finished_while_the_socket_was_down_is_listed_once(client: Client):
    product = await database_sync_to_async(make_answerable_product)()
    session = await database_sync_to_async(start_chat)(client)
    socket = client_socket(client, session.pk)
    assert (await socket.connect())[0]
    await socket.send_json_to(
        {"type": "ask", "ref": "q1", "text": QUESTION, "product_id": product.catalog_id}
    )
    end = await receive_type(socket, "answer_end")
    await socket.disconnect()

    response = await database_sync_to_async(client.get)(f"/chat/{session.pk}/messages")
    messages = response.json()["messages"]
    assert [m["role"] for m in messages] == ["question", "answer"]
    assert messages[1]["id"] == end["message_id"]
    assert messages[1]["text"] == end["text"]
    assert messages[1]["citations"] == end["citations"]
