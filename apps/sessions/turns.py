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

    def free(self) -> bool:
        """Whether work given now would run at once."""
        return not self._queue and self._has_room()

    async def run(self, work: Callable[[], T], *, usage: float) -> T:
        """The result of `work()`, run on this loop when its turn comes. `usage` is what the
        socket spent lately (ms of its own budget): the lower, the sooner."""
        if self.free():
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
