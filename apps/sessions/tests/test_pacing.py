"""How the event loop's lateness turns typing pacing on and off (apps.sessions.pacing)."""

from __future__ import annotations

import asyncio
import time

from apps.sessions.pacing import LoopPacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def late(pacer: LoopPacer, seconds: float, ticks: int = 3) -> None:
    for _ in range(ticks):
        pacer.observe(seconds)


def test_a_late_loop_paces_typing_for_the_hold_and_then_no_longer():
    clock = Clock()
    pacer = LoopPacer(lag_ms=20, hold_ms=1000, interval_ms=400, clock=clock)
    late(pacer, 0.015)  # a loop that keeps up within the lag
    assert pacer.interval() == 0.0
    late(pacer, 0.030)
    assert pacer.interval() == 0.4
    clock.now += 0.999
    assert pacer.interval() == 0.4
    clock.now += 0.002
    assert pacer.interval() == 0.0


def test_one_pause_of_the_loop_is_not_a_loop_behind():
    pacer = LoopPacer(lag_ms=20, hold_ms=1000, interval_ms=400, clock=Clock())
    for _ in range(5):  # a long collection now and then, on-time ticks between
        late(pacer, 0.2, ticks=2)
        pacer.observe(0.001)
    assert pacer.interval() == 0.0


def test_each_late_tick_extends_the_hold():
    clock = Clock()
    pacer = LoopPacer(lag_ms=20, hold_ms=1000, interval_ms=400, clock=clock)
    late(pacer, 0.05)
    clock.now += 0.8
    pacer.observe(0.05)
    clock.now += 0.8
    assert pacer.interval() == 0.4


def test_a_lag_of_zero_never_paces():
    pacer = LoopPacer(lag_ms=0, hold_ms=1000, interval_ms=400)
    late(pacer, 5.0)
    assert pacer.interval() == 0.0


async def test_its_timer_notices_a_loop_kept_busy_by_blocking_work():
    pacer = LoopPacer(lag_ms=60, hold_ms=1000, interval_ms=400)
    pacer.start(asyncio.get_running_loop())
    await asyncio.sleep(0.1)
    assert pacer.interval() == 0.0  # an idle loop runs its timer on time
    for _ in range(8):  # passes of the loop that each hold it past the timer's due time
        time.sleep(0.1)
        await asyncio.sleep(0)
    assert pacer.interval() == 0.4
