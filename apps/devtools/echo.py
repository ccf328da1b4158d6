"""The bare echo socket, `/ws/echo/`: the floor of the stack that benchmarks compare the chat
socket with (served only with BENCH_ECHO, see hscjit/routing.py)."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from apps.sessions import protocol


class EchoConsumer(AsyncWebsocketConsumer):
    """Answers each message at once with an empty prediction: no index, no budget, no state."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            body = json.loads(text_data or "")
        except ValueError:
            body = {}
        ref = body.get("ref") if isinstance(body, dict) else None
        text = body.get("text") if isinstance(body, dict) else None
        reply = protocol.prediction(ref=ref, text=text, candidates=(), cards={}, took_ms=0.0)
        await self.send(text_data=json.dumps(reply))
