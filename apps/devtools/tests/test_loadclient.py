"""The load client opens one chat session per customer, each with its own cookie."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from apps.devtools.loadclient import ChatClient, Recorder


@pytest.fixture
async def chat_site() -> AsyncIterator[tuple[str, list[str]]]:
    """A stand-in for GET /chat/: a redirect to a new chat and a new session cookie for every
    request; yields its URL and the request heads it received."""
    heads: list[str] = []
    numbers = itertools.count(1)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append((await reader.readuntil(b"\r\n\r\n")).decode("latin-1"))
        number = next(numbers)
        status = "302 Found" if number <= 6 else "429 Too Many Requests"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nLocation: /chat/{number}/\r\n"
            f"Set-Cookie: sessionid=s{number}; expires=Tue, 15 Dec 2026 13:00:00 GMT; "
            "HttpOnly; Path=/; SameSite=Lax\r\nSet-Cookie: lang=en; Path=/\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", heads
    finally:
        server.close()


async def test_each_customer_gets_its_own_session_and_sends_no_cookie(
    chat_site: tuple[str, list[str]],
) -> None:
    url, heads = chat_site
    clients = [ChatClient(url, Recorder()) for _ in range(6)]
    # One after the other: a request made after a reply could carry that reply's cookie.
    for client in clients:
        await client.open_session()
    assert len(heads) == 6
    assert all(head.startswith("GET /chat/ HTTP/1.1\r\n") for head in heads)
    assert not [head for head in heads if "cookie:" in head.lower()]
    assert [client.cookie for client in clients] == [
        f"sessionid=s{number}; lang=en" for number in range(1, 7)
    ]
    assert [client.ws_path for client in clients] == [f"/ws/chat/{n}/" for n in range(1, 7)]


async def test_a_refused_chat_page_is_an_error(chat_site: tuple[str, list[str]]) -> None:
    url, _heads = chat_site
    for _ in range(6):
        await ChatClient(url, Recorder()).open_session()
    with pytest.raises(RuntimeError, match="429"):
        await ChatClient(url, Recorder()).open_session()
