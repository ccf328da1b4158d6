"""No client slows the others, every ending cleans up (issue 14, items 1, 4, 6, 15, 16)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.devtools.testing import sample
from apps.manuals.services import manual_group
from apps.products.models import Product
from apps.products.prediction.bound import CONSIDERED_WORDS, considered_text
from apps.sessions import consumers, predictions, ratelimit
from apps.sessions.consumers import base
from apps.sessions.tests.sockets import HOST, ORIGIN, application, communicator, make_chat
from apps.sessions.turns import FairTurns

pytestmark = pytest.mark.django_db(transaction=True)


class _Costing:
    """`predictions.predict`, reporting `cost(text)` ms of work (CPU and wall) for each text."""

    def __init__(self, cost: Callable[[str], float]) -> None:
        self.cost = cost
        self.texts: list[str] = []
        self.predict = predictions.predict

    def __call__(self, text: str, **options: bool) -> predictions.Prediction:
        self.texts.append(text)
        ms = self.cost(text)
        return dataclasses.replace(self.predict(text, **options), took_ms=ms, work_ms=ms)


def test_a_prediction_reads_only_the_end_of_a_long_text():
    long = " ".join(f"word{n}" for n in range(166)) + " boss rc-600"
    considered = considered_text(long)
    assert considered.endswith("boss rc-600")
    assert len(considered.split()) == CONSIDERED_WORDS
    assert considered_text("boss rc-600") == "boss rc-600"
    # A word the character cut halves is dropped rather than read as a typo.
    assert considered_text("x" * 300 + " rc 600") == "rc 600"


def test_a_work_budget_makes_work_wait_once_spent():
    now = [0.0]
    budget = ratelimit.WorkBudget(rate=10.0, burst=20.0, clock=lambda: now[0])
    assert budget.wait() == 0.0
    budget.charge(cpu_ms=50.0, wall_ms=50.0)  # 30 ms in debt: 3 s at 10 ms a second
    assert budget.wait() == pytest.approx(3.0)
    now[0] = 3.0
    assert budget.wait() == 0.0


def test_a_budget_counts_cpu_time_unless_it_guards_the_loops_wall_time():
    now = [0.0]
    cpu = ratelimit.WorkBudget(rate=10.0, burst=0.0, clock=lambda: now[0])
    wall = ratelimit.WorkBudget(rate=10.0, burst=0.0, wall=True, clock=lambda: now[0])
    # A prediction that worked 5 ms but held the loop 40 ms on a busy machine.
    for budget in (cpu, wall):
        budget.charge(cpu_ms=5.0, wall_ms=40.0)
    assert cpu.wait() == pytest.approx(0.5)
    assert wall.wait() == pytest.approx(4.0)
    assert ratelimit.process_budget().wall


async def test_typing_past_its_budget_waits_and_answers_only_the_newest(
    socket, settings, monkeypatch
):
    settings.CHAT_PREDICTION_MS_PER_SECOND = 1000.0
    settings.CHAT_PREDICTION_BURST_MS = 1.0
    settings.CHAT_PROCESS_PREDICTION_MS_PER_SECOND = 0  # the socket's own budget alone
    chat, key = await make_chat()
    comm = communicator(chat.pk, key)
    await comm.connect()
    # As if each prediction took half a second of work.
    costly = _Costing(lambda text: 500.0)
    monkeypatch.setattr(predictions, "predict", costly)
    try:
        texts = [f"rc 600 {'x' * n}" for n in range(1, 21)]
        await comm.send_json_to({"type": "typing", "text": texts[0]})
        first = await comm.receive_json_from(timeout=5)
        assert first["text"] == texts[0]
        for text in texts[1:]:
            await comm.send_json_to({"type": "typing", "text": text})
        # The next prediction waits ~0.5 s for the budget (the silence is the assertion: it
        # leaves 0.2 s for a prediction that did not wait); by then the burst is all read.
        assert await comm.receive_nothing(timeout=0.3)
        second = await comm.receive_json_from(timeout=5)
        assert second["text"] == texts[-1]
        assert costly.texts == [texts[0], texts[-1]]
    finally:
        await comm.disconnect()


async def test_frames_do_not_queue_on_the_thread_all_sockets_share(socket, monkeypatch):
    # Channels' dispatch closes stale connections on the shared thread before every frame: a
    # flood of frames from many sockets then makes every socket's next frame wait there.
    hops = []

    async def counted() -> None:
        hops.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)
    for n in range(5):
        await socket.send_json_to({"type": "ping", "ref": f"p{n}"})
        assert (await socket.receive_json_from(timeout=5))["type"] == "pong"
    assert hops == []


async def test_past_its_light_share_a_socket_waits_for_the_process_budget_a_typist_does_not(
    catalog, settings, monkeypatch
):
    settings.CHAT_PREDICTION_MS_PER_SECOND = 1000.0
    settings.CHAT_PREDICTION_BURST_MS = 1000.0
    settings.CHAT_PREDICTION_LIGHT_MS_PER_SECOND = 1.0  # 5 ms of light share at once
    # A rate no other test uses: the process makes a new budget when its rate changes.
    settings.CHAT_PROCESS_PREDICTION_MS_PER_SECOND = 100.0
    assert ratelimit.process_budget().wait() == 0.0
    # The attacker's texts are the costly ones.
    monkeypatch.setattr(
        predictions, "predict", _Costing(lambda text: 300.0 if "zzz" in text else 0.1)
    )
    heavy_chat, heavy_key = await make_chat()
    light_chat, light_key = await make_chat()
    heavy, light = communicator(heavy_chat.pk, heavy_key), communicator(light_chat.pk, light_key)
    await heavy.connect()
    await light.connect()
    try:
        await heavy.send_json_to({"type": "typing", "text": "zzz one"})
        assert (await heavy.receive_json_from(timeout=5))["text"] == "zzz one"
        # 300 ms spent: its light share and the process's budget (100 ms) are gone for ~2 s.
        await heavy.send_json_to({"type": "typing", "text": "zzz two"})
        for n in range(1, 6):
            await light.send_json_to({"type": "typing", "text": f"rc 60{n}"})
            assert (await light.receive_json_from(timeout=0.5))["text"] == f"rc 60{n}"
        # Still waiting after the light socket's five answers: the silence is the assertion,
        # well inside the ~2 s the heavy one waits.
        assert await heavy.receive_nothing(timeout=0.5), await heavy.receive_json_from()
        assert (await heavy.receive_json_from(timeout=5))["text"] == "zzz two"
    finally:
        await heavy.disconnect()
        await light.disconnect()


async def test_an_address_may_hold_only_so_many_open_sockets(catalog, settings):
    settings.CHAT_ADDRESS_OPEN_SOCKETS = 2
    opened = []
    for _ in range(3):
        chat, key = await make_chat()
        comm = WebsocketCommunicator(
            application(),
            f"/ws/chat/{chat.pk}/",
            headers=[HOST, ORIGIN, (b"cookie", f"sessionid={key}".encode())],
        )
        comm.scope["client"] = ("203.0.113.7", 5000)
        await comm.connect()
        opened.append(comm)
    await opened[0].send_json_to({"type": "ping", "ref": "a"})
    assert (await opened[0].receive_json_from(timeout=5))["type"] == "pong"
    assert (await opened[2].receive_output(timeout=5))["code"] == 4429
    assert ratelimit.open_sockets("203.0.113.7") == 2
    # disconnect() returns once the consumer has ended, its cleanup included.
    await opened[0].disconnect()
    assert ratelimit.open_sockets("203.0.113.7") == 1
    await opened[1].disconnect()
    assert ratelimit.open_sockets("203.0.113.7") == 0


async def test_the_cleanup_runs_when_the_consumer_is_cancelled_or_crashes(catalog):
    layer = get_channel_layer()
    before = sample("websocket_active_connections")
    chat, key = await make_chat()
    comm = communicator(chat.pk, key)
    await comm.connect()
    await comm.send_json_to({"type": "ping", "ref": "p"})
    await comm.receive_json_from(timeout=5)
    assert sample("websocket_active_connections") == before + 1
    # Daphne's application-close timeout cancels the consumer without a disconnect event.
    comm.future.cancel()
    await asyncio.wait([comm.future], timeout=5)
    assert comm.future.cancelled()
    assert sample("websocket_active_connections") == before
    assert ratelimit.open_sockets("127.0.0.1") == 0

    # A channel-layer message the consumer cannot handle ends it with an exception.
    crashing = communicator(chat.pk, key)
    await crashing.connect()
    await crashing.send_json_to({"type": "select", "product_id": "boss-rc-600", "ref": "s"})
    while (await crashing.receive_json_from(timeout=5))["type"] != "selected":
        pass
    assert sample("websocket_active_connections") == before + 1
    await layer.group_send(manual_group(catalog["manual"].pk), {"type": "no.such.event"})
    with pytest.raises(ValueError, match="No handler"):
        await crashing.wait(timeout=5)
    assert sample("websocket_active_connections") == before


async def test_reading_the_channel_layer_is_retried_through_an_outage(monkeypatch):
    monkeypatch.setattr(base, "LAYER_RETRY_FIRST", 0.01)
    consumer = consumers.ChatConsumer()
    answers = iter([ConnectionError("down"), OSError("reset"), {"type": "manual.status"}])

    async def receive():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    consumer.channel_receive = receive
    assert await consumer.channel_receive() == {"type": "manual.status"}


async def test_a_select_while_the_channel_layer_is_down_is_unavailable_not_internal(
    socket, monkeypatch
):
    async def down(self, *args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(type(get_channel_layer()), "group_add", down)
    await socket.send_json_to({"type": "select", "product_id": "boss-rc-600", "ref": "s"})
    reply = await socket.receive_json_from(timeout=5)
    assert reply["type"] == "error" and reply["code"] == "unavailable"
    await socket.send_json_to({"type": "ping", "ref": "p"})
    assert (await socket.receive_json_from(timeout=5))["type"] == "pong"


async def test_an_unrouted_socket_path_is_closed_with_4404_quietly(caplog):
    comm = WebsocketCommunicator(application(), "/ws/nothing-here/", headers=[HOST, ORIGIN])
    with caplog.at_level(logging.WARNING):
        await comm.connect()
        output = await comm.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4404}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_prediction_ending_after_the_socket_closed_leaves_no_orphan_task(
    socket, monkeypatch
):
    started = asyncio.Event()
    real = consumers.ChatConsumer.send_text

    async def stalled(self, frame):
        # A prediction still on its way to a slow client, which only a cancel ends.
        if json.loads(frame)["type"] == "prediction":
            started.set()
            await asyncio.Event().wait()
        await real(self, frame)

    monkeypatch.setattr(consumers.ChatConsumer, "send_text", stalled)
    # Its turn taken, the prediction goes to the socket's typing worker (a prediction made in
    # the reader ends with the reader).
    monkeypatch.setattr(FairTurns, "free", lambda self: False)
    await socket.send_json_to({"type": "typing", "text": "boss"})
    await asyncio.wait_for(started.wait(), timeout=5)
    mine = {t for t in asyncio.all_tasks() if "_answer_typing" in repr(t.get_coro())}
    await socket.disconnect()
    assert mine and all(task.done() for task in mine)


async def test_ask_without_product_id_is_about_the_focus(socket, monkeypatch):
    asked: list[tuple[str | None, int | None]] = []

    async def run_ask(*, session, text, product_id, ref, send, lang=None):
        # No product named: the service answers about the session's product, the focus.
        asked.append((product_id, session.product_id))
        await send({"type": "answer_end", "ref": ref, "state": "answered", "message_id": 1})

    from apps.sessions import answering

    monkeypatch.setattr(answering, "run_ask", run_ask)
    await socket.send_json_to({"type": "select", "product_id": "boss-rc-600", "ref": "s"})
    while (await socket.receive_json_from(timeout=5))["type"] != "selected":
        pass
    await socket.send_json_to({"type": "ask", "text": "how do I loop?", "ref": "a"})
    while (await socket.receive_json_from(timeout=5))["type"] != "answer_end":
        pass
    focus = await database_sync_to_async(Product.objects.get)(catalog_id="boss-rc-600")
    assert asked == [(None, focus.pk)]
