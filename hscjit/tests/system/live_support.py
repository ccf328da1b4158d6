"""Clients for the live-support system tests: agents on the staff console, customers who keep
every push they receive, and the deployment's support setup (agents, round-the-clock hours)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from typing import Any

import httpx
import websockets

from apps.devtools.loadclient import ChatClient, Recorder
from hscjit.tests.system.support import Deployment

AGENT_PASSWORD = "agent-password-for-system-tests-0123"
_keys = itertools.count(1)


def prepare_support(deployment: Deployment, *, agents: int) -> list[str]:
    """Open support every day all day, and make `agents` users in Support agents."""
    names = [f"agent{n}" for n in range(agents)]
    deployment.manage(
        "shell",
        "-c",
        "import datetime as dt\n"
        "from django.contrib.auth.models import Group, User\n"
        "from apps.sessions.models import OpeningHours\n"
        "OpeningHours.objects.all().delete()\n"
        "OpeningHours.objects.bulk_create(OpeningHours(weekday=d, opens=dt.time(0),"
        " closes=dt.time(23, 59, 59)) for d in range(7))\n"
        "group = Group.objects.get(name='Support agents')\n"
        f"for name in {names!r}:\n"
        f"    user = User.objects.create_user(name, password={AGENT_PASSWORD!r},"
        " is_staff=True, first_name=name.title())\n"
        "    user.groups.add(group)\n",
    )
    return names


class Customer(ChatClient):
    """A chat client that keeps the live-support pushes it receives."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, Recorder())
        self.pushes: list[dict[str, Any]] = []
        self.arrived: dict[str, float] = {}  # agent reply text -> when it arrived

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") in {"handoff_state", "agent_message", "agent_typing"}:
            self.pushes.append(message)
            if message["type"] == "agent_message":
                self.arrived.setdefault(message["text"], time.perf_counter())
        super()._dispatch(message)

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


class Agent:
    """A support agent: logged in through the admin, on the console socket."""

    def __init__(self, base_url: str, username: str) -> None:
        self.base_url = base_url
        self.username = username
        self.cookie = ""
        self.socket: Any = None
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.queue: dict[int, dict[str, Any]] = {}
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.pending: dict[str, dict[str, Any]] = {}  # client key -> reply not yet confirmed
        self._reader: asyncio.Task[None] | None = None
        self.hellos = 0

    async def login(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as http:
            await http.get("/admin/login/")
            response = await http.post(
                "/admin/login/",
                data={
                    "username": self.username,
                    "password": AGENT_PASSWORD,
                    "next": "/admin/",
                    "csrfmiddlewaretoken": http.cookies["csrftoken"],
                },
            )
            assert response.status_code == 302, "the agent's login was refused"
            self.cookie = f"sessionid={http.cookies['sessionid']}"

    async def connect(self) -> None:
        self.socket = await websockets.connect(
            self.base_url.replace("http", "ws", 1) + "/ws/support/",
            additional_headers={"Cookie": self.cookie, "Origin": self.base_url},
            open_timeout=15,
            ping_interval=None,
        )
        self._reader = asyncio.create_task(self._read())

    @property
    def connected(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def reconnect(self, *, within: float) -> None:
        """Connect again after a drop, then resend every reply not yet confirmed (the
        console does the same); the server stores each client key once."""
        deadline = time.monotonic() + within
        while True:
            await self.close()
            try:
                await self.connect()
                await asyncio.wait_for(self._wait_hello(), 10)
                break
            except (OSError, TimeoutError, ConnectionError, websockets.WebSocketException):
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.5)
        for key, reply in list(self.pending.items()):
            await self._send({**reply, "client_key": key})

    async def _wait_hello(self) -> None:
        seen = self.hellos
        while self.hellos == seen:
            if not self.connected:
                raise ConnectionError("console closed before hello")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                self._dispatch(json.loads(frame))
        except websockets.ConnectionClosed:
            pass
        finally:
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("console closed"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "hello":
            self.hellos += 1
            self.queue = {item["id"]: item for item in message["queue"]}
        elif kind == "queue_item":
            self.queue[message["item"]["id"]] = message["item"]
        elif kind == "reply_saved":
            self.pending.pop(message["client_key"], None)
        waiter = self._waiters.pop(message.get("ref") or "", None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)
        self.inbox.put_nowait(message)

    async def _send(self, message: dict[str, Any]) -> dict[str, Any]:
        ref = f"a{next(_keys)}"
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[ref] = waiter
        await self.socket.send(json.dumps({**message, "ref": ref}))
        return await asyncio.wait_for(waiter, 15)

    async def claim(self, handoff_id: int) -> dict[str, Any]:
        return await self._send({"type": "claim", "handoff_id": handoff_id})

    async def reply(self, handoff_id: int, text: str, *, key: str | None = None) -> str:
        """Send a reply; it stays pending until the server confirms it (returns its key)."""
        key = key or f"{self.username}-{next(_keys)}"
        reply = {"type": "reply", "handoff_id": handoff_id, "text": text}
        self.pending[key] = reply
        # A reply the socket could not confirm is resent after the reconnect.
        with contextlib.suppress(ConnectionError, TimeoutError, websockets.WebSocketException):
            await self._send({**reply, "client_key": key})
        return key
