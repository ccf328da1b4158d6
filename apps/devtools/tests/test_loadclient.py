"""The load client's shared HTTP client keeps every customer's session its own."""

from __future__ import annotations

import asyncio
import itertools

from apps.devtools.loadclient import ChatClient, Recorder, session_http


async def test_customers_opening_sessions_over_one_http_client_never_share_a_cookie() -> None:
    cookies_sent: list[str] = []
    numbers = itertools.count(1)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A keep-alive connection may carry several customers' requests.
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            lines = head.decode("latin-1").split("\r\n")
            cookies_sent.extend(line for line in lines if line.lower().startswith("cookie:"))
            number = next(numbers)
            writer.write(
                f"HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: /chat/{number}/\r\n"
                f"Set-Cookie: sessionid=s{number}; Path=/\r\n\r\n".encode()
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    clients = [ChatClient(url, Recorder()) for _ in range(6)]
    try:
        async with session_http(connections=2) as http:
            # One after the other: a request built after a reply could carry its cookie.
            for client in clients:
                await client.open_session(http)
    finally:
        server.close()
    assert cookies_sent == []
    assert next(numbers) == 7
    assert sorted(client.cookie for client in clients) == [f"sessionid=s{n}" for n in range(1, 7)]
    assert {client.ws_path for client in clients} == {f"/ws/chat/{n}/" for n in range(1, 7)}
