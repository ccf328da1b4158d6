"""The bare echo socket, `/ws/echo/`: the floor of the stack that benchmarks compare the chat
socket with (served only with BENCH_ECHO, see hscjit/routing.py)."""

from __future__ import annotations

import json

from apps.sessions import protocol
from apps.sessions.consumers.base import SocketConsumer


class EchoConsumer(SocketConsumer):
    """Answers each message at once with an empty prediction: no index, no budget, no state.

    Dispatched as the chat socket is (no database check per frame, a log context), so the two
    differ by the chat's own work only. A stock consumer's thread hop per frame made this
    floor slower than the chat (a knee of 1,683 typing messages a second against 1,883).
    """

    async def clean_up(self) -> None:
        return None

    def log_fields(self) -> dict[str, object]:
        return {}

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            body = json.loads(text_data or "")
        except ValueError:
            body = {}
        ref = body.get("ref") if isinstance(body, dict) else None
        text = body.get("text") if isinstance(body, dict) else None
        reply = protocol.prediction(ref=ref, text=text, candidates=(), cards={}, took_ms=0.0)
        await self.send(text_data=json.dumps(reply))
