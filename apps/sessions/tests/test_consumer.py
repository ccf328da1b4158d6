from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from apps.devtools.testing import eventually
from apps.manuals.models import Manual
from apps.manuals.services import attach_document, manual_group, publish_status
from apps.products.models import Brand, Product
from apps.products.prediction import build_index
from apps.sessions import consumers, predictions
from apps.sessions.models import ChatSession
from apps.sessions.tests.sockets import (
    ask,
    communicator,
    expect_close,
    make_chat,
    receive_type,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- refusals ---------------------------------------------------------------------------------


async def test_an_unknown_session_is_refused_with_4404(catalog):
    _chat, key = await make_chat()
    for chat_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        comm = communicator(chat_id, key)
        await comm.connect()
        assert await expect_close(comm) == 4404


async def test_another_browser_is_refused_with_4403(catalog):
    chat, _key = await make_chat()
    _other, other_key = await make_chat()
    comm = communicator(chat.pk, other_key)
    await comm.connect()
    assert await expect_close(comm) == 4403
    comm = communicator(chat.pk, None)
    await comm.connect()
    assert await expect_close(comm) == 4403


async def test_a_wrong_origin_is_refused_with_4403(catalog):
    chat, key = await make_chat()
    comm = communicator(chat.pk, key, origin=(b"origin", b"https://evil.example"))
    await comm.connect()
    assert await expect_close(comm) == 4403


async def test_a_chat_handshake_reads_the_session_and_never_the_user(catalog, monkeypatch):
    # Channels' auth middleware reads the user on the thread every socket shares: the chat
    # needs only its session's key, the staff console the user.
    looked_up = []

    async def get_user(scope):
        looked_up.append(scope["path"])

    monkeypatch.setattr("channels.auth.get_user", get_user)
    chat, key = await make_chat()
    comm = communicator(chat.pk, key)
    connected, _ = await comm.connect()
    assert connected
    assert await ask(comm, {"type": "ping", "ref": "p1"}) == {"type": "pong", "ref": "p1"}
    await comm.disconnect()
    assert looked_up == []


# --- message types ----------------------------------------------------------------------------


async def test_ping_gets_pong_with_the_ref(socket):
    assert await ask(socket, {"type": "ping", "ref": "p1"}) == {"type": "pong", "ref": "p1"}


async def test_typing_gets_one_prediction_with_product_cards(socket, catalog):
    reply = await ask(socket, {"type": "typing", "text": "my rc 600 won't sync", "ref": "t1"})
    assert reply["type"] == "prediction" and reply["ref"] == "t1"
    assert reply["text"] == "my rc 600 won't sync"
    top = reply["candidates"][0]
    assert top["confident"] is True
    assert top["product"]["id"] == "boss-rc-600"
    assert top["product"]["brand"] == "Boss"
    assert top["product"]["manual"] == {
        "id": catalog["manual"].pk,
        "status": "missing",
        "pages": None,
    }
    assert isinstance(reply["took_ms"], float)
    # One prediction: a second would follow the first at once, well within this silence.
    assert await socket.receive_nothing(timeout=0.2)


async def test_the_cards_show_a_manual_status_published_by_another_process(socket, catalog):
    manual = catalog["manual"]

    @database_sync_to_async
    def another_process_finishes_the_manual() -> None:
        with transaction.atomic():
            Manual.objects.filter(pk=manual.pk).update(status="ready", page_count=48)
            publish_status(manual=Manual.objects.get(pk=manual.pk))

    await another_process_finishes_the_manual()

    async def shown() -> dict:
        reply = await ask(socket, {"type": "typing", "text": "rc 600"})
        return reply["candidates"][0]["product"]["manual"]

    async def ready() -> dict | None:
        card = await shown()
        return card if card["status"] == "ready" else None

    card = await eventually(ready, within=3, every=0.05, what="the card shows the manual ready")
    assert card == {"id": manual.pk, "status": "ready", "pages": 48}


async def test_a_greeting_gets_an_empty_prediction(socket):
    reply = await ask(socket, {"type": "typing", "text": "hello"})
    assert reply["candidates"] == [] and reply["ref"] is None


async def test_beside_a_product_in_focus_a_question_word_offers_no_other_product(
    socket, catalog, monkeypatch
):
    @database_sync_to_async
    def with_a_knob_in_the_catalog():
        mackie = Brand.objects.create(slug="mackie", name="Mackie")
        Product.objects.create(catalog_id="mackie-big-knob", name="Mackie Big Knob", brand=mackie)
        return build_index(version=uuid.uuid4().int % 10**12)

    index = await with_a_knob_in_the_catalog()
    monkeypatch.setattr(predictions, "get_index", lambda: index)

    def offered(reply: dict) -> list[str]:
        return [candidate["product"]["id"] for candidate in reply["candidates"]]

    question = {"type": "typing", "text": "which knob sets the level"}
    assert offered(await ask(socket, question)) == ["mackie-big-knob"]
    await ask(socket, {"type": "select", "product_id": "boss-rc-600"})
    # "knob" is a word of a question about the RC-600 now; "katana" still names a product.
    assert offered(await ask(socket, question)) == []
    reply = await ask(socket, {"type": "typing", "text": "and the katana"})
    assert offered(reply) == ["boss-katana-50"]


async def test_a_confident_prediction_requests_the_prefetch_once(socket, catalog):
    for end in range(6, 16):
        await ask(socket, {"type": "typing", "text": "rc 600 looper"[:end]})
    await ask(socket, {"type": "select", "product_id": "boss-rc-600"})
    assert catalog["prefetches"] == [catalog["manual"].pk]


async def test_a_focus_moved_by_typing_is_saved_when_the_socket_closes(catalog):
    chat, key = await make_chat()
    comm = communicator(chat.pk, key)
    assert (await comm.connect())[0]
    await ask(comm, {"type": "typing", "text": "my rc 600 won't sync"})
    manual_id = catalog["manual"].pk

    async def followed() -> bool:
        # Once the focus has settled, the socket follows its manual: a status push arrives.
        await get_channel_layer().group_send(
            manual_group(manual_id),
            {"type": "manual.status", "manual_id": manual_id, "status": "missing"},
        )
        return not await comm.receive_nothing(timeout=0.05)

    await eventually(followed, what="the socket follows the predicted product's manual")
    assert (await comm.receive_json_from(timeout=5))["product_id"] == "boss-rc-600"
    saved = await database_sync_to_async(ChatSession.objects.get)(pk=chat.pk)
    assert saved.product_id is None  # no write per keystroke, nor when the focus settles
    await comm.disconnect()
    saved = await database_sync_to_async(ChatSession.objects.get)(pk=chat.pk)
    assert saved.product_id == catalog["rc600"].pk


async def test_select_answers_selected_sets_focus_and_follows_the_manual(socket, catalog):
    reply = await ask(socket, {"type": "select", "product_id": "boss-rc-600", "ref": "s"})
    assert reply["type"] == "selected" and reply["ref"] == "s"
    assert reply["product"]["id"] == "boss-rc-600"
    chat = await database_sync_to_async(ChatSession.objects.get)(pk=socket.chat.pk)
    assert chat.product_id == catalog["rc600"].pk

    manual_id = catalog["manual"].pk
    await get_channel_layer().group_send(
        manual_group(manual_id),
        {
            "type": "manual.status",
            "manual_id": manual_id,
            "status": "fetching",
            "progress": 0.4,
            "pages": None,
            "error": None,
        },
    )
    pushed = await socket.receive_json_from(timeout=5)
    assert pushed == {
        "type": "manual_status",
        "manual_id": manual_id,
        "product_id": "boss-rc-600",
        "status": "fetching",
        "progress": 0.4,
        "pages": None,
        "error": None,
    }


async def test_every_document_of_the_selected_product_is_prefetched_and_followed(socket, catalog):
    midi = await database_sync_to_async(Manual.objects.create)(
        title="RC-600 MIDI implementation",
        source_url="https://example.test/rc600-midi.pdf",
        document_kind=Manual.DocumentKind.MIDI_IMPLEMENTATION,
    )
    await database_sync_to_async(attach_document)(manual=midi, product=catalog["rc600"])
    reply = await ask(socket, {"type": "select", "product_id": "boss-rc-600", "ref": "s"})
    documents = reply["product"]["documents"]
    assert [d["id"] for d in documents] == [catalog["manual"].pk, midi.pk]
    assert reply["product"]["manual"]["id"] == catalog["manual"].pk
    # Asked for after `selected` is out, one thread hop each.
    await eventually(lambda: len(catalog["prefetches"]) >= 2, what="both documents asked for")
    assert catalog["prefetches"] == [catalog["manual"].pk, midi.pk]

    status = {"status": "extracting", "progress": 0.5, "pages": 8, "error": None}
    await get_channel_layer().group_send(
        manual_group(midi.pk), {"type": "manual.status", "manual_id": midi.pk, **status}
    )
    pushed = await socket.receive_json_from(timeout=5)
    assert pushed == {
        "type": "manual_status",
        "manual_id": midi.pk,
        "product_id": "boss-rc-600",
        **status,
    }


async def test_selecting_an_unknown_product_is_not_found(socket):
    reply = await ask(socket, {"type": "select", "product_id": "nope", "ref": "x"})
    assert (reply["type"], reply["code"], reply["ref"]) == ("error", "not_found", "x")


async def test_latest_typing_wins_over_a_burst(socket, monkeypatch):
    real = consumers.ChatConsumer.send_text
    sending = asyncio.Event()

    async def slow_send(self, frame):
        # A slow link: while one prediction is on its way, the burst piles up behind it.
        if json.loads(frame)["type"] == "prediction":
            sending.set()
            await asyncio.sleep(0.1)
        await real(self, frame)

    monkeypatch.setattr(consumers.ChatConsumer, "send_text", slow_send)
    texts = [f"rc 600 {'x' * n}" for n in range(1, 11)]
    await socket.send_json_to({"type": "typing", "text": texts[0]})
    await asyncio.wait_for(sending.wait(), timeout=5)
    for text in texts[1:]:
        await socket.send_json_to({"type": "typing", "text": text})
    answered = [(await socket.receive_json_from(timeout=5))["text"] for _ in range(2)]
    assert answered == [texts[0], texts[-1]]
    # Nothing after the newest: a stale prediction would come one slow send (0.1 s) later.
    assert await socket.receive_nothing(timeout=0.3)


async def test_frames_queued_together_are_read_before_a_prediction(socket):
    # Frames daphne queued in one pass of the loop all reach the consumer before its typing
    # worker runs: only the newest text is predicted.
    texts = [f"rc 600 {'x' * n}" for n in range(1, 11)]
    for text in texts:
        await socket.send_json_to({"type": "typing", "text": text})
    reply = await socket.receive_json_from(timeout=5)
    assert (reply["type"], reply["text"]) == ("prediction", texts[-1])
    assert await socket.receive_nothing(timeout=0.3)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('{"ref": "r"}', "invalid"),
        ('{"type": "dance", "ref": "r"}', "unknown_type"),
        ('{"type": "ping", "ref": 5}', "invalid"),
        (json.dumps({"type": "ping", "ref": "r" * 65}), "invalid"),
        ('{"type": "typing", "ref": "r"}', "invalid"),
        (json.dumps({"type": "typing", "text": "a" * 1001, "ref": "r"}), "too_large"),
        ('{"type": "select", "ref": "r"}', "invalid"),
        ('{"type": "ask", "ref": "r"}', "invalid"),
        ('{"type": "ask", "text": "  ", "ref": "r"}', "invalid"),
        (json.dumps({"type": "ask", "text": "q" * 4001, "ref": "r"}), "too_large"),
        ('{"type": "ask", "text": "hi", "product_id": 3, "ref": "r"}', "invalid"),
        ('{"type": "feedback", "message_id": 1, "rating": 2, "ref": "r"}', "invalid"),
        ('{"type": "feedback", "message_id": "1", "rating": 1, "ref": "r"}', "invalid"),
        ('{"type": "feedback", "message_id": 1, "rating": true, "ref": "r"}', "invalid"),
        (
            json.dumps(
                {
                    "type": "feedback",
                    "message_id": 1,
                    "rating": 1,
                    "comment": "c" * 2001,
                    "ref": "r",
                }
            ),
            "too_large",
        ),
    ],
)
async def test_a_bad_message_gets_its_error_and_the_socket_stays_open(socket, frame, code):
    reply = await ask(socket, frame)
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert reply["message"]
    ref_was_valid = '"ref": "r"' in frame
    assert reply["ref"] == ("r" if ref_was_valid else None)
    assert await ask(socket, {"type": "ping"}) == {"type": "pong", "ref": None}


async def test_binary_and_empty_frames_are_bad_frames(socket):
    await socket.send_to(bytes_data=b"\x00\x01")
    assert (await socket.receive_json_from(timeout=5))["code"] == "bad_frame"
    await socket.send_input({"type": "websocket.receive", "text": ""})
    assert (await socket.receive_json_from(timeout=5))["code"] == "bad_frame"


async def test_feedback_on_an_unknown_message_is_not_found(socket):
    reply = await ask(socket, {"type": "feedback", "message_id": 999999, "rating": -1, "ref": "f"})
    assert (reply["code"], reply["ref"]) == ("not_found", "f")


async def test_an_unavailable_dependency_is_reported_as_unavailable(socket, monkeypatch):
    from apps.sessions import answering

    async def down(**kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(answering, "run_ask", down)
    reply = await ask(socket, {"type": "ask", "text": "how do i loop", "ref": "a"})
    assert (reply["code"], reply["ref"]) == ("unavailable", "a")


async def test_a_crash_is_reported_as_internal_and_the_socket_survives(
    socket, catalog, monkeypatch
):
    def broken(text, *, limit=5):
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog["index"], "predict", broken)
    reply = await ask(socket, {"type": "typing", "text": "rc 600", "ref": "t"})
    assert (reply["code"], reply["ref"]) == ("internal", "t")
    assert (await ask(socket, {"type": "ping"}))["type"] == "pong"


async def test_ping_is_answered_while_an_answer_streams(socket, monkeypatch):
    from apps.sessions import answering

    release = asyncio.Event()

    async def slow(*, session, text, product_id, ref, send, lang=None):
        await release.wait()
        await send({"type": "answer_end", "ref": ref})

    monkeypatch.setattr(answering, "run_ask", slow)
    await socket.send_json_to({"type": "ask", "text": "how do i loop", "ref": "a"})
    assert (await ask(socket, {"type": "ping", "ref": "p"}))["type"] == "pong"
    release.set()
    assert (await socket.receive_json_from(timeout=5))["type"] == "answer_end"


# --- abuse ------------------------------------------------------------------------------------


async def test_a_follow_up_naming_no_product_is_about_the_product_just_answered(
    socket, catalog, settings
):
    settings.ANSWER_MANUAL_WAIT_SECONDS = 0
    await socket.send_json_to(
        {"type": "ask", "text": "how do I loop on it", "product_id": "boss-rc-600"}
    )
    first = await receive_type(socket, "answer_start")
    await receive_type(socket, "answer_end")
    await socket.send_json_to({"type": "ask", "text": "and how do I undo that?"})
    follow_up = await receive_type(socket, "answer_start")
    assert first["product"]["id"] == follow_up["product"]["id"] == "boss-rc-600"


async def test_the_next_question_is_taken_as_soon_as_the_answer_has_ended(socket, monkeypatch):
    from apps.sessions import answering

    async def quick(*, session, text, product_id, ref, send, lang=None):
        await send({"type": "answer_end", "ref": ref, "state": "answered"})

    after = asyncio.Event()

    async def slow_follow_up(self, end, question_id):
        await after.wait()  # work that follows the answer (handoff offers) is still running

    monkeypatch.setattr(answering, "run_ask", quick)
    monkeypatch.setattr(consumers.ChatConsumer, "handoff_after_answer", slow_follow_up)
    first = await ask(socket, {"type": "ask", "text": "how do i loop", "ref": "a"})
    second = await ask(socket, {"type": "ask", "text": "and how do i undo it", "ref": "b"})
    after.set()
    assert (first["type"], second["type"], second["ref"]) == ("answer_end", "answer_end", "b")


async def test_a_flood_is_rate_limited_then_closed_with_4429(catalog, settings):
    settings.CHAT_RATE_PER_SECOND = 1.0
    settings.CHAT_RATE_BURST = 5
    settings.CHAT_RATE_STRIKES = 3
    chat, key = await make_chat()
    comm = communicator(chat.pk, key)
    assert (await comm.connect())[0]
    replies = [await ask(comm, {"type": "ping"}) for _ in range(5)]
    assert all(reply["type"] == "pong" for reply in replies)
    for number in range(3):
        reply = await ask(comm, {"type": "ping", "ref": f"f{number}"})
        assert (reply["code"], reply["ref"]) == ("rate_limited", f"f{number}")
    await comm.send_json_to({"type": "ping"})
    assert await expect_close(comm) == 4429


async def test_an_oversized_frame_closes_the_socket_with_1009(socket):
    await socket.send_to(text_data=json.dumps({"type": "typing", "text": "é" * 40_000}))
    assert await expect_close(socket) == 1009
