"""A chat client for load runs and benchmarks: real HTTP sessions, real WebSockets.

Each client gets its own chat session over HTTP (GET /chat/), opens the socket with its
session cookie and an allowed Origin, and matches replies to requests by `ref`, so latencies are
measured from the moment a message was sent to the reply that names it. `SocketClient` is
the socket and its reader alone, which the staff console's client (livesupport.py) shares.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import random
import ssl
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Recorder:
    """Latencies in milliseconds and counts, shared by all clients of one run."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def observe(self, name: str, millis: float) -> None:
        self.latencies.setdefault(name, []).append(millis)

    def summary(self, name: str) -> dict[str, float]:
        values = self.latencies.get(name, [])
        return {
            "count": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
            "max": max(values) if values else 0.0,
        }


_refs = itertools.count(1)


def next_ref(prefix: str = "r") -> str:
    """A ref no other client of this process uses."""
    return f"{prefix}{next(_refs)}"


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the system's CA store costs tens of milliseconds of CPU: once per run.
    return ssl.create_default_context()


async def get_chat_page(
    base_url: str, *, local_address: str | None = None, timeout: float = 30.0
) -> tuple[int, dict[str, list[str]]]:
    """`GET /chat/` without a cookie, on a connection of its own: the status and headers.

    Plain asyncio, not httpx: an httpx client costs tens of milliseconds of CPU to build (a
    TLS context each) and a pooled one a few milliseconds a request (its pool scans every
    connection each time), which made the load client the bottleneck of opening 2,000
    sessions. A response is read up to its headers, all this needs.
    """
    url = urlsplit(base_url)
    secure = url.scheme == "https"
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(
            url.hostname,
            url.port or (443 if secure else 80),
            ssl=_tls() if secure else None,
            local_addr=(local_address, 0) if local_address else None,
        ),
        timeout,
    )
    try:
        writer.write(
            f"GET {url.path.rstrip('/')}/chat/ HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    finally:
        writer.close()
    status, *lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(status.split()[1]), headers


class SocketClient:
    """A WebSocket with one reader task: every frame goes to `_dispatch`, and a reply whose
    type is in `final_types` ends the wait of the request that named its `ref`."""

    final_types: frozenset[str] = frozenset()

    def __init__(
        self, base_url: str, *, ws_path: str | None = None, local_address: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_path = ws_path
        # The source address of every connection (e.g. 127.0.0.7: another customer's address
        # on loopback), or the system's choice.
        self.local_address = local_address
        self.cookie = ""
        self.socket: Any = None
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed_code: int | None = None

    async def connect(self) -> None:
        ws_url = self.base_url.replace("http", "ws", 1) + (self.ws_path or "")
        self.socket = await websockets.connect(
            ws_url,
            additional_headers={"Cookie": self.cookie, "Origin": self.base_url},
            max_size=2**22,
            open_timeout=30,
            ping_interval=None,
            # Passed on to the event loop's create_connection.
            **({"local_addr": (self.local_address, 0)} if self.local_address else {}),
        )
        self._reader = asyncio.create_task(self._read())

    @property
    def connected(self) -> bool:
        """The socket is open as far as this client knows (its reader is still running)."""
        return self._reader is not None and not self._reader.done()

    async def reconnect(self, *, within: float = 30.0, cap: float = 2.0) -> None:
        """Open the socket again after it dropped, as the chat page does: jittered backoff
        (250 ms plus up to 500 ms x 2^attempt, at most `cap` seconds), for `within` seconds."""
        deadline = time.monotonic() + within
        attempt = 0
        while True:
            await self.close()
            try:
                await self.connect()
                return
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                if time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(0.25 + random.random() * min(cap, 0.5 * 2**attempt))
            attempt += 1

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                self._dispatch(json.loads(frame))
        except websockets.ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else None
        finally:
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("socket closed"))

    def _expect(self, key: str) -> asyncio.Future[dict[str, Any]]:
        """A future that `_resolve(key, ...)` ends, or the socket's closing fails."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[key] = waiter
        return waiter

    async def _send_frame(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def _send_expecting(self, message: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Send a frame with a ref; the future of the reply that names it."""
        waiter = self._expect(message["ref"])
        try:
            await self._send_frame(message)
        except BaseException:
            # Nobody will await it; the reader may have failed it while the send waited, and
            # the send's own error is the one to raise.
            self._waiters.pop(message["ref"], None)
            if waiter.done() and not waiter.cancelled():
                waiter.exception()
            waiter.cancel()
            raise
        return waiter

    def _resolve(self, key: str, message: dict[str, Any]) -> None:
        waiter = self._waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        ref = message.get("ref")
        if isinstance(ref, str) and message.get("type") in self.final_types:
            self._resolve(ref, message)


class ChatClient(SocketClient):
    """One customer: a chat session and its socket."""

    # Only a final reply ends the wait: answer_start, deltas and manual_status come first.
    final_types = frozenset(
        {"prediction", "answer_end", "feedback_saved", "pong", "error", "selected"}
    )

    def __init__(
        self,
        base_url: str,
        recorder: Recorder,
        *,
        ws_path: str | None = None,
        local_address: str | None = None,
    ) -> None:
        super().__init__(base_url, ws_path=ws_path, local_address=local_address)
        self.recorder = recorder
        self._sent: dict[str, tuple[str, float]] = {}
        # Pushes nobody asked for, in order of arrival: what a watcher of the product saw.
        self.statuses: list[dict[str, Any]] = []

    def record_into(self, recorder: Recorder) -> None:
        """Record into `recorder` from now on, forgetting messages still unanswered (typing
        that latest-wins skipped), so no late reply is timed in the next phase."""
        self.recorder = recorder
        self._sent.clear()

    async def open_session(self) -> None:
        """GET /chat/ without a cookie: one customer, one Django session."""
        status, headers = await get_chat_page(self.base_url, local_address=self.local_address)
        if status != 302:
            raise RuntimeError(f"GET /chat/ answered {status}")
        self.ws_path = "/ws" + headers["location"][0]
        # Each cookie's name=value, without its attributes (Path, HttpOnly, ...).
        self.cookie = "; ".join(cookie.split(";")[0] for cookie in headers.get("set-cookie", []))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type", "")
        ref = message.get("ref")
        self.recorder.counts[f"received:{kind}"] += 1
        if kind == "manual_status":
            self.statuses.append(message)
        if kind == "error":
            self.recorder.errors[message.get("code", "?")] += 1
        sent = self._sent.get(ref) if isinstance(ref, str) else None
        if sent is not None and kind in {"prediction", "error", "pong", "feedback_saved"}:
            name, started = self._sent.pop(ref)
            self.recorder.observe(name, (time.perf_counter() - started) * 1000)
        elif sent is not None and kind == "answer_delta" and f"{ref}:first" not in self._sent:
            self._sent[f"{ref}:first"] = ("", 0.0)
            self.recorder.observe("first_delta", (time.perf_counter() - sent[1]) * 1000)
        elif sent is not None and kind == "answer_end":
            _name, started = self._sent.pop(ref)
            self._sent.pop(f"{ref}:first", None)
            self.recorder.observe("answer_total", (time.perf_counter() - started) * 1000)
            self.recorder.counts[f"answer:{message.get('state')}"] += 1
        super()._dispatch(message)

    async def send(
        self, name: str, message: dict[str, Any], *, wait: bool = False
    ) -> dict[str, Any] | None:
        ref = next_ref()
        message = {**message, "ref": ref}
        self._sent[ref] = (name, time.perf_counter())
        self.recorder.counts[f"sent:{message['type']}"] += 1
        if wait:
            return await (await self._send_expecting(message))
        await self._send_frame(message)
        return None

    async def type_text(self, text: str, *, chars_per_second: float, until: float) -> None:
        """Type `text` one character at a time, sending the whole field after each key."""
        for end in range(1, len(text) + 1):
            if time.monotonic() >= until:
                return
            await self.send("prediction", {"type": "typing", "text": text[:end]})
            await asyncio.sleep(1 / chars_per_second)

    async def ask(
        self, text: str, *, product_id: str | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "ask", "text": text}
        if product_id:
            message["product_id"] = product_id
        reply = await asyncio.wait_for(self.send("answer", message, wait=True), timeout)
        assert reply is not None
        return reply


# How many customers open their session and socket at once. The server's work per customer
# (a page with two inserts, a handshake with two lookups) runs on a few threads and a pool of
# database connections, so more at once only queues there.
CONNECT_CONCURRENCY = 50


ECHO_PATH = "/ws/echo/"


@dataclass
class Opened:
    """The clients that connected (echo clients first), and how long opening them took."""

    clients: list[ChatClient]
    asked: int
    seconds: float

    @property
    def echo(self) -> list[ChatClient]:
        return [client for client in self.clients if client.ws_path == ECHO_PATH]

    @property
    def chat(self) -> list[ChatClient]:
        return [client for client in self.clients if client.ws_path != ECHO_PATH]

    def line(self, recorder: Recorder) -> str:
        page = recorder.summary("connect:session")
        socket = recorder.summary("connect:socket")
        return (
            f"{len(self.clients)} of {self.asked} clients connected in {self.seconds:.1f} s "
            f"({len(self.clients) / max(self.seconds, 1e-9):.0f}/s; GET /chat/ p50 "
            f"{page['p50']:.0f} ms, p95 {page['p95']:.0f} ms; socket ready p50 "
            f"{socket['p50']:.0f} ms, p95 {socket['p95']:.0f} ms)"
        )


async def open_clients(
    base_url: str,
    count: int,
    recorder: Recorder,
    *,
    echo: int = 0,
    concurrency: int = CONNECT_CONCURRENCY,
) -> Opened:
    """`echo` clients on the bare echo socket (no session), then `count` chat clients, each
    with its own session and socket, `concurrency` of them opening at a time. Failures are
    counted in `recorder.errors`, not raised."""
    gate = asyncio.Semaphore(concurrency)

    def since(started: float) -> float:
        return (time.perf_counter() - started) * 1000

    async def open_one(client: ChatClient) -> ChatClient:
        async with gate:
            if client.ws_path is None:
                started = time.perf_counter()
                await client.open_session()
                recorder.observe("connect:session", since(started))
            started = time.perf_counter()
            await client.connect()
            # Ready when it answers: the server accepts a chat socket before it looks up the
            # session and joins its groups, and reads its first frame after that.
            await client.send("connect:ready", {"type": "ping"}, wait=True)
            recorder.observe("connect:socket", since(started))
            return client

    clients = [ChatClient(base_url, recorder, ws_path=ECHO_PATH) for _ in range(echo)]
    clients += [ChatClient(base_url, recorder) for _ in range(count)]
    started = time.monotonic()
    results = await asyncio.gather(
        *(open_one(client) for client in clients), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            recorder.errors[f"connect:{type(result).__name__}"] += 1
    return Opened(
        clients=[result for result in results if isinstance(result, ChatClient)],
        asked=len(clients),
        seconds=time.monotonic() - started,
    )


# --- expensive typing (issue 14): attackers in a process of their own ---------------------------

# About 166 random words (each unknown to the catalog, so each would cost a fuzzy search) in
# one `typing` frame of at most the protocol's 1,000 characters, 19 frames a second: just
# under CHAT_RATE_PER_SECOND.
ATTACK_FRAMES_PER_SECOND = 19.0
ATTACK_TEXT_CHARS = 995
ATTACK_ALPHABET = string.ascii_lowercase + " " * 5


def attack_text(rng: random.Random) -> str:
    return " ".join("".join(rng.choices(ATTACK_ALPHABET, k=ATTACK_TEXT_CHARS)).split())


def run_attackers(
    base_url: str, count: int, connected: Any, stop: Any, results: Any, run: str = ""
) -> None:
    """`count` attackers, attacker n from 127.0.0.(2+n), each its own customer; sets the
    `connected` event once all sockets are open, floods until `stop` is set, then puts its
    figures on `results`. Each `run` sends texts of its own, so a later round of the same
    attack finds nothing of an earlier one in the server's caches.

    The target of a process of its own (the events and queue are multiprocessing ones), so
    the victim's measurements do not wait behind the attackers' own work in one event loop.
    """
    try:
        results.put(asyncio.run(_attack(base_url, count, connected, stop, run)))
    except BaseException as error:
        connected.set()
        results.put(
            {
                "connected": 0,
                "connect_seconds": 0.0,
                "held": 0,
                "sent": 0,
                "seconds": 0.0,
                "predicted": 0,
                "predicted_after": 0,
                "errors": {f"attack:{error!r}": 1},
            }
        )
        raise


async def _attack(base_url: str, count: int, connected: Any, stop: Any, run: str) -> dict[str, Any]:
    recorder = Recorder()
    clients = [
        ChatClient(base_url, recorder, local_address=f"127.0.0.{2 + n}") for n in range(count)
    ]

    async def open_one(client: ChatClient) -> None:
        await client.open_session()
        await client.connect()

    started = time.monotonic()
    opened = await asyncio.gather(*(open_one(c) for c in clients), return_exceptions=True)
    connect_seconds = time.monotonic() - started
    for result in opened:
        if isinstance(result, BaseException):
            recorder.errors[f"connect:{type(result).__name__}"] += 1
    clients = [c for c, result in zip(clients, opened, strict=True) if result is None]
    connected.set()
    started = time.monotonic()
    sent = await asyncio.gather(
        *(_flood(c, stop, f"attacker-{run}-{n}") for n, c in enumerate(clients))
    )
    flooded = time.monotonic() - started
    answered = recorder.counts["received:prediction"]
    await asyncio.sleep(2.0)  # replies the server still sends after the flood
    held = sum(client.connected for client in clients)
    for client in clients:
        await client.close()
    return {
        "connected": len(clients),
        "connect_seconds": connect_seconds,
        "held": held,
        "sent": sum(sent),
        "seconds": flooded,
        "predicted": answered,
        "predicted_after": recorder.counts["received:prediction"] - answered,
        "errors": dict(recorder.errors),
    }


async def _flood(client: ChatClient, stop: Any, seed: str) -> int:
    rng = random.Random(seed)
    started = time.monotonic()
    sent = 0
    while not stop.is_set() and client.connected:
        now = time.monotonic()
        await client.send("attack", {"type": "typing", "text": attack_text(rng)})
        sent += 1
        # On schedule, not after each send: a slow send does not lower the rate.
        await asyncio.sleep(max(0.0, started + sent / ATTACK_FRAMES_PER_SECOND - now))
    return sent


async def server_counter(base_url: str, name: str, **labels: str) -> float | None:
    """Counter `name` on the server's /metrics, summed over the samples whose labels match
    `labels` (and over every process when the server runs with PROMETHEUS_MULTIPROC_DIR);
    None when the server has no such counter or no /metrics."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{base_url.rstrip('/')}/metrics")
    if response.status_code != 200:
        return None
    for family in text_string_to_metric_families(response.text):
        if family.name == name.removesuffix("_total"):
            return sum(
                sample.value
                for sample in family.samples
                if sample.name == f"{family.name}_total"
                and all(sample.labels.get(key) == value for key, value in labels.items())
            )
    return None


async def server_health(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(f"{base_url.rstrip('/')}/health")
        return response.json() if response.status_code == 200 else {}
