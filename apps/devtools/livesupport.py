"""Live-support clients for load runs and system tests: support agents on the staff console,
customers who keep what agents send them, and the agent users they log in as.

An agent logs in through the admin's login form (the way a person does) and keeps its
socket's state as the console page does: the queue from `hello` and `queue_item`, and every
reply until the server confirms it, resent after a reconnect under the same client key.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from typing import Any

import httpx
import websockets
from django.contrib.auth.models import Group, User

from apps.devtools.loadclient import ChatClient, Recorder, SocketClient, next_ref
from apps.sessions.models import OpeningHours

AGENTS_GROUP = "Support agents"
# What a request on a console that dropped raises.
SOCKET_ERRORS = (ConnectionError, TimeoutError, websockets.WebSocketException)
_HELLO = "hello"  # the waiter of a connect, which no ref can name (refs end in digits)


def make_agents(*, names: list[str], password: str) -> None:
    """Staff users in Support agents who log in with `password` (an existing one is reset)."""
    group = Group.objects.get(name=AGENTS_GROUP)
    for name in names:
        user, _created = User.objects.get_or_create(username=name)
        user.is_staff = user.is_active = True
        user.first_name = user.first_name or name.title()
        user.set_password(password)
        user.save()
        user.groups.add(group)


def open_round_the_clock() -> None:
    """Opening hours of every day, all day: a live agent is then always reachable."""
    OpeningHours.objects.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(weekday=day, opens=dt.time(0), closes=dt.time(23, 59, 59)) for day in range(7)
    )


class Customer(ChatClient):
    """A chat client that keeps the live-support pushes it receives."""

    final_types = ChatClient.final_types | {"handoff_state"}

    def __init__(self, base_url: str, recorder: Recorder | None = None) -> None:
        super().__init__(base_url, recorder or Recorder())
        self.pushes: list[dict[str, Any]] = []
        self.arrived: dict[str, float] = {}  # agent reply text -> when it arrived (perf_counter)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") in {"handoff_state", "agent_message", "agent_typing"}:
            self.pushes.append(message)
            if message["type"] == "agent_message":
                self.arrived.setdefault(message["text"], time.perf_counter())
        super()._dispatch(message)

    async def ask_for_person(self, *, timeout: float = 30) -> dict[str, Any]:
        """A `handoff_request`; the `handoff_state` that answers it."""
        state = await asyncio.wait_for(
            self.send("handoff", {"type": "handoff_request", "reason": "asked"}, wait=True),
            timeout,
        )
        assert state is not None
        return state

    def last_state(self) -> str | None:
        states = [p["state"] for p in self.pushes if p["type"] == "handoff_state"]
        return states[-1] if states else None

    async def saved_messages(self) -> list[dict[str, Any]]:
        """The conversation as GET /chat/<id>/messages returns it (what a reload shows)."""
        path = (self.ws_path or "").removeprefix("/ws")
        async with httpx.AsyncClient(timeout=15) as http:
            response = await http.get(
                f"{self.base_url}{path}messages", headers={"Cookie": self.cookie}
            )
        response.raise_for_status()
        return response.json()["messages"]


class Agent(SocketClient):
    """A support agent: logged in through the admin, on the console socket."""

    # Every reply of the console that names a ref.
    final_types = frozenset(
        {
            "conversation",
            "claimed",
            "reply_saved",
            "released",
            "closed",
            "note_saved",
            "pong",
            "error",
        }
    )

    def __init__(self, base_url: str, username: str, *, password: str) -> None:
        super().__init__(base_url, ws_path="/ws/support/")
        self.username = username
        self.password = password
        self.queue: dict[int, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}  # client key -> reply not yet confirmed
        self.sent_at: dict[str, float] = {}  # reply text -> when it was first sent (perf_counter)

    async def login(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as http:
            await http.get("/admin/login/")
            response = await http.post(
                "/admin/login/",
                data={
                    "username": self.username,
                    "password": self.password,
                    "next": "/admin/",
                    "csrfmiddlewaretoken": http.cookies["csrftoken"],
                },
            )
            if response.status_code != 302:
                raise RuntimeError(f"the login of {self.username} was refused")
            self.cookie = f"sessionid={http.cookies['sessionid']}"

    async def connect(self) -> None:
        """Open the console and wait for its `hello`: the queue is known when this returns."""
        hello = self._expect(_HELLO)
        await super().connect()
        await asyncio.wait_for(hello, 15)

    async def reconnect(self, *, within: float = 30.0, cap: float = 2.0) -> None:
        """Connect again after a drop, then resend every reply not yet confirmed (the
        console does the same); the server stores each client key once."""
        await super().reconnect(within=within, cap=cap)
        for key, reply in list(self.pending.items()):
            await self._request({**reply, "client_key": key})

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "hello":
            self.queue = {item["id"]: item for item in message["queue"]}
            self._resolve(_HELLO, message)
        elif kind == "queue_item":
            self.queue[message["item"]["id"]] = message["item"]
        elif kind == "reply_saved":
            self.pending.pop(message["client_key"], None)
        super()._dispatch(message)

    async def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        ref = next_ref("a")
        waiter = await self._send_expecting({**message, "ref": ref})
        return await asyncio.wait_for(waiter, 15)

    async def claim(self, handoff_id: int) -> dict[str, Any]:
        return await self._request({"type": "claim", "handoff_id": handoff_id})

    async def open(self, handoff_id: int) -> dict[str, Any]:
        """Show the conversation (its transcript), as a click in the queue does."""
        return await self._request({"type": "open", "handoff_id": handoff_id})

    async def typing(self, handoff_id: int, *, active: bool) -> None:
        """The customer's typing indicator (for a conversation this console opened)."""
        await self._send_frame({"type": "typing", "handoff_id": handoff_id, "typing": active})

    async def reply(self, handoff_id: int, text: str, *, key: str | None = None) -> str:
        """Send a reply; it stays pending until the server confirms it (returns its key)."""
        key = key or f"{self.username}-{next_ref('k')}"
        reply = {"type": "reply", "handoff_id": handoff_id, "text": text}
        self.pending[key] = reply
        self.sent_at.setdefault(text, time.perf_counter())
        # A reply the socket could not confirm is resent after the reconnect.
        with contextlib.suppress(*SOCKET_ERRORS):
            await self._request({**reply, "client_key": key})
        return key

    async def resolve(self, handoff_id: int) -> dict[str, Any]:
        """Close the conversation (the console's Close)."""
        return await self._request({"type": "close", "handoff_id": handoff_id})
