"""Typing paced while the event loop runs late.

Past its knee a process receives more keystrokes than it can predict. Answering every one of
them queues the rest: first in the loop, then in the kernel's socket buffers, where latest
wins cannot reach, and every customer sees the cards seconds late. So a timer measures how
late the loop runs. While it runs later than `lag_ms` several ticks in a row (a loop past its
knee, not one pause for garbage collection or a big send), and for `hold_ms` after, each socket
predicts at most once every `interval_ms`: keystrokes that arrive in between replace the
waiting text (latest wins, counted as skipped), the newest text is answered, and the work
saved lets the loop catch up. A customer then sees the card change a few times a second
instead of with every key, and never late.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable

from django.conf import settings

# How often the timer looks: often enough to notice a late loop within a keystroke or two,
# rarely enough to cost nothing (50 callbacks a second).
_EVERY = 0.02
# Late ticks in a row that mean the loop is behind: one pause makes one late tick.
_SUSTAINED = 3


class LoopPacer:
    def __init__(
        self,
        *,
        lag_ms: float,
        hold_ms: float,
        interval_ms: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lag = lag_ms / 1000
        self._hold = hold_ms / 1000
        self._interval = interval_ms / 1000
        self._clock = clock
        self._late_until = float("-inf")
        self._late_ticks = 0
        self._due = 0.0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due = self._clock() + _EVERY
        loop.call_later(_EVERY, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.observe(self._clock() - self._due)
        self.start(loop)

    def observe(self, late: float) -> None:
        """The timer ran `late` seconds after it was due."""
        self._late_ticks = self._late_ticks + 1 if self._lag and late > self._lag else 0
        if self._late_ticks >= _SUSTAINED:
            self._late_until = self._clock() + self._hold

    def interval(self) -> float:
        """The least time (s) between two predictions of one socket now: 0 while the loop
        keeps up."""
        return self._interval if self._clock() < self._late_until else 0.0


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopPacer] = (
    weakref.WeakKeyDictionary()
)


def typing_interval() -> float:
    """This event loop's least time between two predictions of one socket (0: unpaced)."""
    loop = asyncio.get_running_loop()
    pacer = _per_loop.get(loop)
    if pacer is None:
        pacer = _per_loop[loop] = LoopPacer(
            lag_ms=settings.CHAT_PACING_LAG_MS,
            hold_ms=settings.CHAT_PACING_HOLD_MS,
            interval_ms=settings.CHAT_PACING_INTERVAL_MS,
        )
        pacer.start(loop)
    return pacer.interval()
