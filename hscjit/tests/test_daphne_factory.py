"""The daphne protocol the project installs: a socket whose application asks it to stop
reading is not read until asked to resume, and only its scope offers that."""

from __future__ import annotations

import asyncio
from typing import Any

from daphne import server

from hscjit.daphne_factory import PAUSE_READING, READING, RESUME_READING


class Transport:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")


def websocket_protocol() -> Any:
    import hscjit.asgi  # noqa: F401 (installs the protocol, as daphne's import of it does)

    protocol = server.WebSocketFactory.protocol.__new__(server.WebSocketFactory.protocol)
    protocol.transport = Transport()
    return protocol


def test_an_application_pauses_and_resumes_reading_its_socket() -> None:
    protocol = websocket_protocol()
    protocol.handle_reply({"type": PAUSE_READING})
    protocol.handle_reply({"type": RESUME_READING})
    assert protocol.transport.calls == ["pause", "resume"]


async def test_only_the_websocket_scope_offers_the_pause() -> None:
    scopes: list[dict[str, Any]] = []

    async def application(*, scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)

    class Server:
        def __init__(self, protocol: Any) -> None:
            self.application = application
            self.connections = {protocol: {}}

        async def handle_reply(self, protocol: Any, message: Any) -> None:
            raise AssertionError("nothing is sent")

    websocket, http = websocket_protocol(), object()
    for protocol in (websocket, http):
        server.Server.create_application(Server(protocol), protocol, {"type": "x"})
    await asyncio.sleep(0)
    assert [READING in scope.get("extensions", {}) for scope in scopes] == [True, False]
