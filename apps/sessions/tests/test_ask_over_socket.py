"""The full `ask` flow through the chat consumer, as a browser drives it."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.manuals.models import Manual
from apps.manuals.services import answering
from apps.manuals.tests.demo_data import product_with, ready_manual
from apps.sessions.models import ChatSession, Feedback, Message
from apps.sessions.tests.sockets import communicator, make_chat
from hscjit import cache

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    from django.core.cache import caches

    cache.reset_local_state()
    caches["default"].clear()


async def _chat_with_product(status: str = Manual.Status.READY) -> tuple[ChatSession, str, Any]:
    @database_sync_to_async
    def product() -> Any:
        manual = ready_manual()
        Manual.objects.filter(pk=manual.pk).update(status=status)
        return product_with(manual)

    made = await product()
    chat, key = await make_chat()
    return chat, key, made


async def _open(chat: ChatSession, key: str) -> WebsocketCommunicator:
    comm = communicator(chat.pk, key)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def _until_end(
    comm: WebsocketCommunicator, *, also_stop_at: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The messages up to the answer's end (or the first one of a type in `also_stop_at`)."""
    received: list[dict[str, Any]] = []
    while not received or received[-1]["type"] not in {"answer_end", "error", *also_stop_at}:
        received.append(await comm.receive_json_from(timeout=10))
    return received


async def test_ask_streams_an_answer_and_feedback_is_saved_on_it() -> None:
    chat, key, product = await _chat_with_product()
    comm = await _open(chat, key)
    try:
        await comm.send_json_to(
            {
                "type": "ask",
                "text": "How do I update the firmware?",
                "ref": "a1",
                "product_id": product.catalog_id,
            }
        )
        received = await _until_end(comm)
        assert received[0]["type"] == "answer_start"
        end = received[-1]
        deltas = [m["text"] for m in received if m["type"] == "answer_delta"]
        assert deltas and "".join(deltas) == end["text"]
        assert end["state"] == "answered" and end["citations"][0]["page"] == 21
        await comm.send_json_to(
            {"type": "feedback", "message_id": end["message_id"], "rating": 1, "ref": "f1"}
        )
        assert await comm.receive_json_from(timeout=5) == {
            "type": "feedback_saved",
            "ref": "f1",
            "message_id": end["message_id"],
        }
    finally:
        await comm.disconnect()
    saved = await database_sync_to_async(Feedback.objects.get)(message_id=end["message_id"])
    assert saved.rating == 1
    roles = await database_sync_to_async(
        lambda: list(Message.objects.filter(session=chat).values_list("role", flat=True))
    )()
    assert roles == ["question", "answer"]


async def test_ask_waits_for_a_manual_still_fetching(settings, monkeypatch) -> None:
    settings.ANSWER_MANUAL_WAIT_SECONDS = 10
    monkeypatch.setattr(answering, "request_prefetch", lambda *, manual_id: True)
    chat, key, product = await _chat_with_product(Manual.Status.FETCHING)
    comm = await _open(chat, key)
    try:
        await comm.send_json_to(
            {
                "type": "ask",
                "text": "How do I update the firmware?",
                "ref": "a2",
                "product_id": product.catalog_id,
            }
        )
        # Once the answer says it waits for the manual, the fetch ends.
        received = await _until_end(comm, also_stop_at=frozenset({"manual_status"}))
        await database_sync_to_async(Manual.objects.filter(links__product=product).update)(
            status=Manual.Status.READY
        )
        if received[-1]["type"] == "manual_status":
            received += await _until_end(comm)
    finally:
        await comm.disconnect()
    statuses = [m["status"] for m in received if m["type"] == "manual_status"]
    assert statuses[0] == "fetching" and statuses[-1] == "ready"
    assert received[-1]["state"] == "answered"
