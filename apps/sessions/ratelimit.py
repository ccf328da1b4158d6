"""Rate limits: a token bucket per connection (bursts are fine, a sustained flood is not), and
per-minute counts per client address that every web process shares through the cache.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hscjit import cache

logger = logging.getLogger(__name__)
ADDRESS_CACHE_PREFIX = "address_limit"


class TokenBucket:
    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


# --- per client address, across processes ------------------------------------------------------

ADDRESS_WINDOW_SECONDS = 60
_LIMIT_SETTINGS = {
    "sessions": "CHAT_ADDRESS_SESSIONS_PER_MINUTE",
    "connections": "CHAT_ADDRESS_CONNECTIONS_PER_MINUTE",
    "questions": "CHAT_ADDRESS_QUESTIONS_PER_MINUTE",
}


def client_address(*, peer: str | None, forwarded_for: str | None) -> str | None:
    """The customer's address: the peer, or the hop the outermost trusted proxy recorded.

    Each proxy appends the address it saw to X-Forwarded-For, so with N trusted proxies the
    N-th entry from the right is the client. Entries further left were written by the client
    and prove nothing; a header shorter than N did not come through every proxy.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",")]
        if len(hops) >= proxies and hops[-proxies]:
            return hops[-proxies]
    return peer or None


def request_address(request: HttpRequest) -> str | None:
    return client_address(
        peer=request.META.get("REMOTE_ADDR"), forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR")
    )


def scope_address(scope: Mapping[str, Any]) -> str | None:
    client = scope.get("client")
    # Headers are bytes in an ASGI scope; a repeated header counts as one list, as proxies do.
    forwarded = b", ".join(
        value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
    )
    return client_address(
        peer=str(client[0]) if client else None,
        forwarded_for=forwarded.decode("latin-1") if forwarded else None,
    )


def allow_address(*, kind: str, address: str | None, now: float | None = None) -> bool:
    """Count one more `kind` ("sessions" or "connections") for `address` in this minute.

    False once the address is past its limit for the minute. An unknown address (a Unix
    socket) and a limit of 0 are not limited. When the shared cache cannot count, the answer
    is yes: a customer is never refused because Redis is down (hscjit.cache logs the outage).
    """
    limit: int = getattr(settings, _LIMIT_SETTINGS[kind])
    if not address:
        return True
    return allow_in_minute(name=f"{kind}:{address}", limit=limit, what=kind, now=now)


def allow_site(*, site_key: str, limit: int, now: float | None = None) -> bool:
    """Count one more new chat from an embedding site (all its visitors together)."""
    return allow_in_minute(name=f"site:{site_key}", limit=limit, what="site chats", now=now)


def allow_in_minute(*, name: str, limit: int, what: str, now: float | None = None) -> bool:
    """One more `name` in this minute's window, shared by every process; False past `limit`
    (0 is no limit), True when the shared cache cannot count."""
    if limit <= 0:
        return True
    window = int((time.time() if now is None else now) // ADDRESS_WINDOW_SECONDS)
    count = cache.incr(
        f"{ADDRESS_CACHE_PREFIX}:{window}:{name}", timeout=ADDRESS_WINDOW_SECONDS + 5
    )
    if count is None:
        return True
    if count == limit + 1:
        # Once per name and minute, however long the flood goes on.
        logger.warning("%s is over its limit of %s %s a minute", name, limit, what)
    return count <= limit


def retry_after(*, now: float | None = None) -> int:
    """Seconds until the current window ends, for a Retry-After header."""
    moment = time.time() if now is None else now
    return max(1, int(ADDRESS_WINDOW_SECONDS - moment % ADDRESS_WINDOW_SECONDS))


# --- work budgets and open sockets, per process --------------------------------------------------


class WorkBudget:
    """Milliseconds of work a sustained `rate` per second buys, with a `burst` allowance.

    Work is charged after it is done (its cost is only known then), so the balance can go
    negative; the next piece waits until the balance is back to zero. A budget counts the CPU
    time of the work (a socket does not pay for the process waiting for a core), or with
    `wall` its wall time: what the event loop spent, which every other socket waited for.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: float,
        wall: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.wall = wall
        self._clock = clock
        self._balance = burst
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._balance = min(self.burst, self._balance + (now - self._updated) * self.rate)
        self._updated = now

    def wait(self) -> float:
        """Seconds until work may start (0.0 when it may start now)."""
        self._refill()
        return 0.0 if self._balance >= 0 else -self._balance / self.rate

    def spent(self) -> float:
        """Milliseconds of the burst spent lately (more than the burst when in debt)."""
        self._refill()
        return self.burst - self._balance

    def charge(self, *, cpu_ms: float, wall_ms: float) -> None:
        self._refill()
        self._balance -= wall_ms if self.wall else cpu_ms


_address_budgets: dict[str, WorkBudget] = {}
_open_sockets: dict[str, int] = {}


def address_budget(address: str | None) -> WorkBudget | None:
    """The prediction budget all sockets of one client address share in this process."""
    if not address or settings.CHAT_ADDRESS_PREDICTION_MS_PER_SECOND <= 0:
        return None
    budget = _address_budgets.get(address)
    if budget is None:
        if len(_address_budgets) > 10_000:
            # Budgets of addresses long gone are full; dropping them forgives nothing.
            _address_budgets.clear()
        rate = settings.CHAT_ADDRESS_PREDICTION_MS_PER_SECOND
        budget = _address_budgets[address] = WorkBudget(rate=rate, burst=rate)
    return budget


# A light socket may spend this many seconds of its light share at once (a few keystrokes).
LIGHT_BURST_SECONDS = 5.0
_process_budget: list[WorkBudget] = []


def light_budget() -> WorkBudget:
    """A socket's light share: while it has some, its predictions skip the process budget."""
    rate = settings.CHAT_PREDICTION_LIGHT_MS_PER_SECOND
    return WorkBudget(rate=rate, burst=rate * LIGHT_BURST_SECONDS)


def process_budget() -> WorkBudget | None:
    """The event-loop time this process spends predicting for sockets past their light share.

    Wall time: on a busy machine a prediction holds the loop longer than its CPU time.
    """
    rate = settings.CHAT_PROCESS_PREDICTION_MS_PER_SECOND
    if rate <= 0:
        return None
    if not _process_budget or _process_budget[0].rate != rate:
        _process_budget[:] = [WorkBudget(rate=rate, burst=rate, wall=True)]
    return _process_budget[0]


def open_socket(address: str | None) -> bool:
    """Count one more open socket of `address` in this process; False past the limit (and
    then nothing is counted)."""
    limit = settings.CHAT_ADDRESS_OPEN_SOCKETS
    if not address or limit <= 0:
        return True
    if _open_sockets.get(address, 0) >= limit:
        return False
    _open_sockets[address] = _open_sockets.get(address, 0) + 1
    return True


def close_socket(address: str | None) -> None:
    if address and address in _open_sockets:
        _open_sockets[address] -= 1
        if _open_sockets[address] <= 0:
            del _open_sockets[address]


def open_sockets(address: str) -> int:
    return _open_sockets.get(address, 0)


# --- the question form without JavaScript ---------------------------------------------------------

QUESTION_SLOT_PREFIX = "question_slot"
# An answer takes at most the manual wait plus the answer itself; a slot left by a process
# that died frees itself after this.
QUESTION_SLOT_SECONDS = 120


def limit_questions(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The socket's limits for `POST /chat/<id>/ask`: questions per address and minute, and
    one question at a time per chat (a second one while the first is answered is refused)."""

    @functools.wraps(view)
    def limited(request: HttpRequest, session_id: Any, **kwargs: Any) -> HttpResponse:
        if not allow_address(kind="questions", address=request_address(request)):
            wait = retry_after()
            response = render(request, "chat/too_many.html", {"retry_after": wait}, status=429)
            response["Retry-After"] = str(wait)
            return response
        slot = f"{QUESTION_SLOT_PREFIX}:{session_id}"
        # While the shared cache is down the slot is unknown (None), and the question goes
        # through: a customer is never refused because Redis is down.
        if cache.add(slot, 1, timeout=QUESTION_SLOT_SECONDS) is False:
            response = HttpResponse(
                "One question at a time: wait for the answer to finish.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = "5"
            return response
        try:
            return view(request, session_id, **kwargs)
        finally:
            cache.delete(slot)

    return limited
