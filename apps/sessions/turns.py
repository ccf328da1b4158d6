"""Prediction work in turns, the socket that has spent least first.

Predictions run on the event loop. Sockets whose frames arrive together (a flood timed to
the millisecond) would run their predictions back to back in one pass of the loop, and a
customer typing normally would wait behind every one of them. Here at most `slice_ms` of
prediction work runs in every `window_ms`; past it, work waits for the next window in a queue
ordered by how much of its own budget each socket has spent lately, and the loop reads
sockets in between. A light socket's prediction then runs before the queued work of the
sockets flooding it, within about one window.

While the slice has room and nothing waits, work runs at once: a process below its knee
never queues, and a keystroke costs no extra pass of the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")


class FairTurns:
    def __init__(
        self,
        *,
        slice_ms: float,
        window_ms: float,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._slice = slice_ms / 1000
        self._window = window_ms / 1000
        self._clock = clock
        self._window_started = clock()
        self._used = 0.0
        # (usage, order, context, work, future): the least-spent socket first, then FIFO.
        self._queue: list[tuple[float, int, contextvars.Context, Callable[[], Any], Any]] = []
        self._order = itertools.count()
        self._drain: asyncio.Handle | None = None

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def run(self, work: Callable[[], T], *, usage: float) -> T:
        """The result of `work()`, run on this loop when its turn comes. `usage` is what the
        socket spent lately (ms of its own budget): the lower, the sooner."""
        if not self._queue and self._has_room():
            return self._timed(work)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        entry = (usage, next(self._order), contextvars.copy_context(), work, future)
        heapq.heappush(self._queue, entry)
        self._schedule(loop)
        return await future

    def _has_room(self) -> bool:
        now = self._clock()
        if now - self._window_started >= self._window:
            self._window_started, self._used = now, 0.0
        return self._used < self._slice

    def _timed(self, work: Callable[[], T]) -> T:
        started = self._clock()
        try:
            return work()
        finally:
            self._used += self._clock() - started

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._drain is not None:
            return
        # Queued work runs when the window has room again: at once (in the loop's next pass,
        # after the sockets it finds readable), or when the window ends.
        wait = 0.0 if self._has_room() else self._window_started + self._window - self._clock()
        self._drain = loop.call_later(max(0.0, wait), self._run_queued, loop)

    def _run_queued(self, loop: asyncio.AbstractEventLoop) -> None:
        self._drain = None
        while self._queue and self._has_room():
            _, _, context, work, future = heapq.heappop(self._queue)
            if future.done():  # its socket closed while it waited
                continue
            try:
                result = context.run(self._timed, work)
            except Exception as error:
                future.set_exception(error)
            else:
                future.set_result(result)
        if self._queue:
            self._schedule(loop)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FairTurns] = (
    weakref.WeakKeyDictionary()
)


def prediction_turns() -> FairTurns:
    """This event loop's turns for prediction work (one loop serves every socket)."""
    loop = asyncio.get_running_loop()
    turns = _per_loop.get(loop)
    if turns is None:
        turns = _per_loop[loop] = FairTurns(
            slice_ms=settings.CHAT_PREDICTION_SLICE_MS,
            window_ms=settings.CHAT_PREDICTION_WINDOW_MS,
        )
    return turns


class BudgetLine:
    """The sockets waiting for one shared budget, let through one at a time, the least-spent
    first, each once the budget has room and the one before it is done.

    Without it every waiting socket sleeps until the budget refills, all wake together, one
    gets the budget and the others sleep again: past its light share a flood of sockets woke
    the loop hundreds of times a second for nothing, and any work they did on waking (reading
    their frames) came in step.
    """

    def __init__(self, *, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self._sleep = sleep
        self._line: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._busy = False
        self._waker: asyncio.Task[None] | None = None

    def first(self, usage: float) -> bool:
        """Whether a socket that spent `usage` would be let through before all who wait."""
        return not self._line or usage < self._line[0][0]

    def enter_now(self, budget: Any, *, usage: float) -> bool:
        """Take the budget at once if it has room and the socket is first (then `leave`)."""
        if self._busy or not self.first(usage) or budget.wait() > 0:
            return False
        self._busy = True
        return True

    async def enter(self, budget: Any, *, usage: float) -> None:
        """Wait for this socket's turn at `budget` (then `leave` after the work)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._line, (usage, next(self._order), future))
        self._wake_later(budget)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.leave(budget)  # let through, then its socket closed
            raise

    def leave(self, budget: Any) -> None:
        self._busy = False
        self._wake_later(budget)

    def _wake_later(self, budget: Any) -> None:
        if self._busy or not self._line or (self._waker is not None and not self._waker.done()):
            return
        self._waker = asyncio.ensure_future(self._wake(budget))

    async def _wake(self, budget: Any) -> None:
        while not self._busy and self._line:
            wait = budget.wait()
            if wait > 0:
                await self._sleep(wait)
                continue
            _, _, future = heapq.heappop(self._line)
            if not future.done():  # its socket closed while it waited
                self._busy = True
                future.set_result(None)


def process_line() -> BudgetLine:
    """This event loop's line for the process's prediction budget."""
    loop = asyncio.get_running_loop()
    line = _lines.get(loop)
    if line is None:
        line = _lines[loop] = BudgetLine()
    return line


_lines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BudgetLine] = (
    weakref.WeakKeyDictionary()
)
