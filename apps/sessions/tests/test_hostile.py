"""Hostile clients: random, malformed and oversized frames and floods on the chat socket.

Every frame gets a protocol answer (a reply of its type, or an `error` with a listed code),
every frame the server sends is valid UTF-8 JSON, the socket closes only for abuse (1009,
4429), and a second client connected all along keeps getting correct answers.

Hypothesis runs in a worker thread and hands each example to the test's event loop, so both
sockets stay open across all examples, as a real bystander's would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import Settings

from apps.manuals.services import answering
from apps.sessions.models import ChatSession
from apps.sessions.protocol import CLIENT_TYPES, ERROR_CODES, MAX_REF
from apps.sessions.tests.sockets import communicator, make_chat

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")
SERVER_TYPES = {
    "prediction",
    "selected",
    "manual_status",
    "answer_start",
    "answer_delta",
    "answer_end",
    "feedback_saved",
    "pong",
    "error",
    # Version 1.1, live support (docs/protocol.md).
    "handoff_offer",
    "handoff_state",
    "agent_message",
    "agent_typing",
}
# The message that completes the server's answer to each client type (besides an `error`).
REPLY = {
    "typing": "prediction",
    "select": "selected",
    "ask": "answer_end",
    "feedback": "feedback_saved",
    "ping": "pong",
    "handoff_request": "handoff_state",
    "contact": "handoff_state",
    "handoff_cancel": "handoff_state",
}
HYPOTHESIS = hypothesis_settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FLOODS = hypothesis_settings(HYPOTHESIS, max_examples=8)
OVERSIZED = hypothesis_settings(HYPOTHESIS, max_examples=12)

# --- what a hostile client sends ---------------------------------------------------------------

# Any code point, lone surrogates included (a client's JSON can spell them as \ud800 escapes).
any_text = st.text(st.characters(exclude_categories=[]), max_size=80)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63)
    | st.floats()
    | any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=10,
)
PRODUCT_IDS = ["boss-rc-600", "boss-katana-50", "nope"]
sized_text = st.integers(min_value=0, max_value=4_200).map(lambda n: ("rc 600 " + "x" * n)[:n])
field = json_values | sized_text | st.sampled_from(["", "   ", "\x00", "rc 600\x00", "é" * 1001])
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(CLIENT_TYPES)) | any_text | json_values},
    optional={
        "ref": st.none() | st.text(max_size=MAX_REF + 8) | json_values,
        "text": field | st.sampled_from(["rc 600", "how do I save a loop", "hello"]),
        "product_id": field | st.sampled_from(PRODUCT_IDS),
        "message_id": field | st.integers(min_value=-5, max_value=10**6),
        "rating": field | st.sampled_from([1, -1, 0, 2, 1.0, True]),
        "comment": field,
    },
)
# Well-formed messages, some at their size limits, so that real replies are exercised too.
refs = st.none() | st.text(st.characters(exclude_categories=["Cs"]), max_size=MAX_REF)
valid_messages = st.one_of(
    st.fixed_dictionaries({"type": st.just("ping"), "ref": refs}),
    st.fixed_dictionaries(
        {"type": st.just("typing"), "ref": refs, "text": sized_text.map(lambda t: t[:1000])}
    ),
    st.fixed_dictionaries(
        {"type": st.just("select"), "ref": refs, "product_id": st.sampled_from(PRODUCT_IDS)}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("ask"),
            "ref": refs,
            "text": st.sampled_from(["how do I save a loop", "rc 600 midi sync", "hello?"]),
        },
        optional={"product_id": st.sampled_from(PRODUCT_IDS)},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("feedback"),
            "ref": refs,
            "message_id": st.integers(min_value=1, max_value=10**6),
            "rating": st.sampled_from([1, -1]),
        },
        optional={"comment": st.text(max_size=2000)},
    ),
)
# Deep nesting, a number past Python's 4,300-digit limit, NaN, two objects in one frame, a BOM.
odd_frames = st.sampled_from(
    [
        "[" * 20_000 + "]" * 20_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        "1" * 5_000,
        '{"type": "typing", "text": "rc", "ref": ' + "9" * 5_000 + "}",
        "NaN",
        "null",
        '{"type": "ping"}{"type": "ping"}',
        '\ufeff{"type": "ping"}',
        '{"type": "ping", "ref": "\\ud800"}',
        '{"type": "typing", "text": "rc 600 \\udfff"}',
        '{"type": "ask", "text": "\\u0000"}',
    ]
)


def receive(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "websocket.receive", "text": json.dumps(message)}


@st.composite
def frames(draw: st.DrawFn) -> dict[str, Any]:
    """One ASGI `websocket.receive` event."""
    kind = draw(
        st.sampled_from(["valid"] * 3 + ["message"] * 2 + ["json", "text", "odd", "binary"])
    )
    if kind == "binary":
        return {"type": "websocket.receive", "bytes": draw(st.binary(max_size=200))}
    if kind == "text":
        return {"type": "websocket.receive", "text": draw(any_text)}
    if kind == "odd":
        return {"type": "websocket.receive", "text": draw(odd_frames)}
    value = draw({"valid": valid_messages, "message": messages, "json": json_values}[kind])
    # ensure_ascii=False leaves lone surrogates raw, which no WebSocket server would deliver,
    # but the consumer must survive them too.
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    return {"type": "websocket.receive", "text": text}


# --- reading the server's side -------------------------------------------------------------------


class Client:
    """A socket whose every outgoing frame is checked against the protocol."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.sent = 0

    async def receive(self) -> dict[str, Any]:
        output = await self.comm.receive_output(timeout=10)
        assert output["type"] == "websocket.send", f"the server closed the socket: {output}"
        assert output.get("bytes") is None and isinstance(output["text"], str)
        # A browser can only receive UTF-8: a lone surrogate here would break the real send.
        message = json.loads(output["text"].encode("utf-8"))
        assert isinstance(message, dict) and message.get("type") in SERVER_TYPES, message
        ref = message.get("ref")
        assert ref is None or (isinstance(ref, str) and len(ref) <= MAX_REF), message
        if message["type"] == "error":
            assert message["code"] in ERROR_CODES, message
            assert isinstance(message["message"], str) and message["message"], message
        if message["type"] == "handoff_offer":
            # Follows an answer the manual could not give; it answers no frame of its own.
            assert isinstance(message["text"], str) and message["text"], message
            return await self.receive()
        return message

    async def ping(self) -> None:
        self.sent += 1
        ref = f"sync/{self.sent}"
        await self.comm.send_json_to({"type": "ping", "ref": ref})
        while (message := await self.receive()) != {"type": "pong", "ref": ref}:
            assert message["type"] in {"manual_status", "prediction"}, message


def declared(frame: dict[str, Any]) -> tuple[str | None, str | None]:
    """The frame's message type and ref, when it has readable ones."""
    try:
        body = json.loads(frame.get("text") or "")
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    kind, ref = body.get("type"), body.get("ref")
    return (
        kind if isinstance(kind, str) else None,
        ref if isinstance(ref, str) and len(ref) <= MAX_REF else None,
    )


async def exchange(client: Client, frame: dict[str, Any]) -> dict[str, Any]:
    """Send one frame and read the server's whole answer to it; returns the final message."""
    kind, ref = declared(frame)
    await client.comm.send_input(frame)
    while True:
        message = await client.receive()
        if message["type"] == "error":
            assert message["ref"] in (None, ref), (frame, message)
            return message
        assert kind is not None, f"{message} answers a frame that is not a message: {frame}"
        assert message["ref"] == ref or message["type"] == "manual_status", (frame, message)
        if message["type"] == "answer_end" and message["state"] == "no_product":
            # The suggestions follow an answer that could not tell the product.
            message = await client.receive()
            assert message["type"] == "prediction", message
            return message
        if message["type"] == REPLY.get(kind):
            return message


async def bystander_is_served(client: Client) -> None:
    client.sent += 1
    ref = f"by/{client.sent}"
    await client.comm.send_json_to({"type": "typing", "text": "boss rc 600", "ref": ref})
    reply = await client.receive()
    assert reply["type"] == "prediction" and reply["ref"] == ref, reply
    top = reply["candidates"][0]
    assert top["product"]["id"] == "boss-rc-600" and top["confident"], reply
    await client.ping()


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def quick_answers(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """`ask` answers at once from the catalog and queues no fetch of a manual."""
    settings.ANSWER_MANUAL_WAIT_SECONDS = 0
    monkeypatch.setattr(answering, "request_prefetch", lambda *, manual_id: False)


async def open_client() -> Client:
    chat, key = await make_chat()
    comm = communicator(chat.pk, key)
    connected, _ = await comm.connect()
    assert connected
    client = Client(comm)
    # The consumer accepts before it has set up; a reply means it has.
    await client.ping()
    return client


def run_examples(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[T]], T]:
    """Run a coroutine on the test's loop from Hypothesis's thread."""

    def run(coroutine: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=120)  # type: ignore[arg-type]

    return run


# --- properties --------------------------------------------------------------------------------


async def test_every_malformed_frame_gets_a_protocol_answer_and_others_are_unaffected(
    catalog: dict[str, Any], quick_answers: None, settings: Settings
) -> None:
    # The flood limit is tested below; here one client sends as fast as Hypothesis can draw.
    settings.CHAT_RATE_PER_SECOND = 10_000.0
    settings.CHAT_RATE_BURST = 10_000
    hostile, bystander = await open_client(), await open_client()
    run = run_examples(asyncio.get_running_loop())
    seen: dict[str, int] = {}

    async def one(frame: dict[str, Any]) -> None:
        final = await exchange(hostile, frame)
        label = final.get("code") or final["type"]
        if declared(frame)[0] == "ask" and final["type"] != "error":
            label = "answer"
        seen[label] = seen.get(label, 0) + 1
        await hostile.ping()
        await bystander_is_served(bystander)

    @HYPOTHESIS
    @given(frame=frames())
    # Always one of each reply, however the draw goes, so the coverage check below holds.
    @example(frame=receive({"type": "select", "product_id": "boss-rc-600", "ref": "s"}))
    @example(frame=receive({"type": "ask", "text": "how do I save a loop?", "ref": "a"}))
    @example(frame=receive({"type": "typing", "text": "rc 600", "ref": "t"}))
    @example(frame=receive({"type": "ping", "ref": "p"}))
    def each(frame: dict[str, Any]) -> None:
        run(one(frame))

    await asyncio.to_thread(each)
    # The run covered both refusals and real replies, not only one kind of answer.
    assert {"bad_json", "invalid", "unknown_type", "bad_frame"} <= seen.keys(), seen
    assert {"prediction", "pong", "selected", "answer"} <= seen.keys(), seen
    assert await ChatSession.objects.acount() == 2
    await hostile.comm.disconnect()
    await bystander.comm.disconnect()


async def test_a_flood_is_answered_then_closed_with_4429_and_others_are_unaffected(
    catalog: dict[str, Any], quick_answers: None, settings: Settings
) -> None:
    # The bystander's bucket has the default size: limits are per connection.
    bystander = await open_client()
    settings.CHAT_RATE_PER_SECOND = 5.0
    settings.CHAT_RATE_BURST = 10
    settings.CHAT_RATE_STRIKES = 10
    run = run_examples(asyncio.get_running_loop())

    async def flood(burst: list[dict[str, Any]]) -> None:
        hostile = await open_client()
        for frame in burst:
            await hostile.comm.send_input(frame)
        refused = 0
        while True:
            output = await hostile.comm.receive_output(timeout=10)
            if output["type"] == "websocket.close":
                assert output["code"] == 4429, output
                break
            message = json.loads(output["text"].encode("utf-8"))
            assert message["type"] in SERVER_TYPES, message
            refused += message.get("code") == "rate_limited"
        assert refused >= settings.CHAT_RATE_STRIKES
        await bystander_is_served(bystander)

    @FLOODS
    @given(burst=st.lists(frames(), min_size=80, max_size=160))
    def each(burst: list[dict[str, Any]]) -> None:
        run(flood(burst))

    await asyncio.to_thread(each)
    await bystander.comm.disconnect()


async def test_an_oversized_frame_closes_only_that_socket_with_1009(
    catalog: dict[str, Any], quick_answers: None, settings: Settings
) -> None:
    limit = settings.CHAT_MAX_FRAME_BYTES
    bystander = await open_client()
    run = run_examples(asyncio.get_running_loop())

    async def oversize(frame: dict[str, Any]) -> None:
        hostile = await open_client()
        await hostile.comm.send_input(frame)
        output = await hostile.comm.receive_output(timeout=10)
        assert (output["type"], output.get("code")) == ("websocket.close", 1009), output
        await bystander_is_served(bystander)

    big = st.integers(min_value=limit + 1, max_value=limit * 3)
    oversized = (
        big.map(lambda n: {"type": "websocket.receive", "bytes": b"\x00" * n})
        | big.map(lambda n: {"type": "websocket.receive", "text": "x" * n})
        # Few characters, many bytes: a limit counted in characters would let these through.
        | big.map(lambda n: {"type": "websocket.receive", "text": "\U0001f3b8" * (n // 4 + 1)})
        | big.map(
            lambda n: {
                "type": "websocket.receive",
                "text": json.dumps({"type": "typing", "text": "é" * (n // 2)}, ensure_ascii=False),
            }
        )
    )

    @OVERSIZED
    @given(frame=oversized)
    def each(frame: dict[str, Any]) -> None:
        run(oversize(frame))

    await asyncio.to_thread(each)
    await bystander.comm.disconnect()
