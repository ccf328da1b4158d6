"""Prediction work in turns (apps.sessions.turns): slices per window, the least-spent first."""

from __future__ import annotations

import asyncio
import time

import pytest

from apps.sessions.turns import FairTurns


class Clock:
    """Time that moves only when work says it took some."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def work(self, name: str, ms: float, done: list[str]):
        def run() -> str:
            self.now += ms / 1000
            done.append(name)
            return name

        return run


async def test_with_room_in_the_slice_work_runs_at_once_without_a_pass_of_the_loop():
    clock, done = Clock(), []
    turns = FairTurns(slice_ms=2.0, window_ms=3.0, clock=clock)
    loop = asyncio.get_running_loop()
    passes = []
    loop.call_soon(passes.append, "a pass of the loop")
    assert await turns.run(clock.work("typed", 0.5, done), usage=0.0) == "typed"
    assert passes == [] and done == ["typed"]


async def test_past_the_slice_the_socket_that_spent_least_goes_first():
    clock, done = Clock(), []
    turns = FairTurns(slice_ms=2.0, window_ms=3.0, clock=clock)
    # A flood spends the window's slice at once...
    await turns.run(clock.work("flood 0", 2.5, done), usage=60.0)
    # ...and more of it arrives, with the customer typing normally last in line.
    waiting = [
        asyncio.ensure_future(turns.run(clock.work(f"flood {n}", 1.5, done), usage=50.0 + n))
        for n in (1, 2, 3)
    ]
    customer = asyncio.ensure_future(turns.run(clock.work("customer", 0.3, done), usage=0.4))
    await asyncio.sleep(0)
    assert turns.waiting == 4 and done == ["flood 0"]
    clock.now += 0.001  # the window ends
    await asyncio.gather(customer, *waiting)
    assert done == ["flood 0", "customer", "flood 1", "flood 2", "flood 3"]
    assert turns.waiting == 0


async def test_queued_work_waits_for_the_next_window_not_longer():
    turns = FairTurns(slice_ms=1.0, window_ms=20.0)
    spin_until = time.perf_counter() + 0.0015

    def spin() -> None:
        while time.perf_counter() < spin_until:
            pass

    started = time.perf_counter()
    await turns.run(spin, usage=100.0)
    await turns.run(lambda: None, usage=0.0)
    waited = time.perf_counter() - started
    assert 0.015 <= waited < 0.2


async def test_a_failure_reaches_its_own_caller_and_a_cancelled_caller_is_skipped():
    clock, done = Clock(), []
    turns = FairTurns(slice_ms=1.0, window_ms=3.0, clock=clock)
    await turns.run(clock.work("first", 1.0, done), usage=0.0)

    def broken() -> None:
        raise RuntimeError("the index broke")

    failing = asyncio.ensure_future(turns.run(broken, usage=1.0))
    gone = asyncio.ensure_future(turns.run(clock.work("closed socket", 0.1, done), usage=2.0))
    after = asyncio.ensure_future(turns.run(clock.work("next", 0.1, done), usage=3.0))
    await asyncio.sleep(0)
    gone.cancel()
    clock.now += 0.01
    with pytest.raises(RuntimeError, match="the index broke"):
        await failing
    assert await after == "next"
    assert done == ["first", "next"]
