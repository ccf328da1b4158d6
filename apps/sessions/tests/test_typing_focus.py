"""The typing state machine on its own: no socket, no database, a clock that moves when told."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY

from apps.sessions.consumers.tracked import TrackedTasks
from apps.sessions.consumers.typing_focus import (
    FOCUS_SETTLES_AFTER,
    TOUCH_EVERY,
    Budgets,
    FocusActions,
    TypingFocus,
)
from apps.sessions.ratelimit import WorkBudget


class FakeTime:
    """A clock that moves only when told; a sleeper wakes once the clock passes its deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for sleeper in list(self._sleepers):
            deadline, future = sleeper
            if deadline <= self.now:
                self._sleepers.remove(sleeper)
                if not future.done():
                    future.set_result(None)
        await settle()

    @property
    def sleeping(self) -> int:
        return sum(not future.done() for _, future in self._sleepers)


async def settle() -> None:
    """Let every task that can run do so: the fakes below never wait on real time or I/O."""
    for _ in range(50):
        await asyncio.sleep(0)


def card(pk: int, *documents: tuple[int, str]) -> dict[str, Any]:
    return {
        "id": f"product-{pk}",
        "documents": [{"id": doc, "status": status} for doc, status in documents],
    }


class Socket:
    """Records what the state machine asks of the socket; `cost` is each prediction's work."""

    def __init__(self, time: FakeTime, *, cost: float = 0.1, budgets: Budgets | None = None):
        self.predicted: list[str] = []
        self.usages: list[float] = []
        self.failed: list[str | None] = []
        self.prefetched: list[int] = []
        self.followed: set[int] = set()
        self.ever_followed: set[int] = set()
        self.saved: list[int | None] = []
        self.touched: list[int | None] = []
        self.focus_of: dict[str, tuple[int, dict[str, Any]]] = {}
        self.cost = cost
        # Set, predictions wait for it as for their turn.
        self.turn: asyncio.Event | None = None
        self.queue_broken = False
        self.tasks = TrackedTasks()
        self.machine = TypingFocus(
            actions=FocusActions(
                predict=self.predict,
                prediction_failed=self.prediction_failed,
                turn_free=lambda: self.turn is None or self.turn.is_set(),
                prefetch=self.prefetch,
                follow=self.follow,
                unfollow=self.unfollow,
                save_focus=self.save_focus,
                touch=self.touch,
            ),
            budgets=budgets or budgets_for(time),
            start=self.tasks.start,
            focus_pk=None,
            clock=time.clock,
            sleep=time.sleep,
        )

    async def predict(
        self,
        take: Callable[[], tuple[str, str | None]],
        charge: Sequence[WorkBudget],
        usage: float,
    ) -> None:
        if self.turn is not None:
            await self.turn.wait()  # its turn comes (apps.sessions.turns)
        if self.queue_broken:
            raise RuntimeError("the turn queue broke")
        text, _ref = take()
        if text == "boom":
            raise RuntimeError("the index broke")
        self.predicted.append(text)
        self.usages.append(usage)
        for budget in charge:
            budget.charge(cpu_ms=self.cost, wall_ms=self.cost)
        if text in self.focus_of:
            self.machine.focus_later(*self.focus_of[text])

    async def prediction_failed(self, ref: str | None) -> None:
        self.failed.append(ref)

    async def prefetch(self, manual_id: int) -> bool:
        self.prefetched.append(manual_id)
        return True

    async def follow(self, manual_id: int) -> None:
        self.followed.add(manual_id)
        self.ever_followed.add(manual_id)

    async def unfollow(self, manual_id: int) -> None:
        self.followed.discard(manual_id)

    async def save_focus(self, pk: int | None) -> None:
        self.saved.append(pk)

    async def touch(self, pk: int | None) -> None:
        self.touched.append(pk)


def budgets_for(
    time: FakeTime,
    *,
    own: tuple[float, float] = (1000.0, 1000.0),
    light: tuple[float, float] = (1000.0, 5000.0),
    process: WorkBudget | None = None,
) -> Budgets:
    return Budgets(
        own=WorkBudget(rate=own[0], burst=own[1], clock=time.clock),
        light=WorkBudget(rate=light[0], burst=light[1], clock=time.clock),
        shared=lambda: None,
        process=lambda: process,
    )


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


# --- typing ---------------------------------------------------------------------------------------


async def test_a_burst_read_before_the_worker_runs_is_answered_for_its_last_text(time):
    socket = Socket(time)
    for text, more in (("r", True), ("rc", True), ("rc 6", False)):
        await socket.machine.typed(text, None, more_queued=more)
    await settle()
    assert socket.predicted == ["rc 6"]


async def test_a_frame_read_alone_with_its_budgets_in_hand_is_predicted_at_once(time):
    # No worker is started and no pass of the loop is waited for: the call predicts.
    socket = Socket(time)
    before = asyncio.all_tasks()
    await socket.machine.typed("rc 6", None)
    assert socket.predicted == ["rc 6"]
    assert asyncio.all_tasks() == before


async def test_a_frame_whose_turn_is_taken_goes_to_the_worker_and_the_reader_goes_on(time):
    socket = Socket(time)
    socket.turn = asyncio.Event()
    await socket.machine.typed("rc", None)  # returns: the reader is not held for the turn
    await socket.machine.typed("rc 6", None)
    assert socket.predicted == []
    socket.turn.set()
    await settle()
    assert socket.predicted == ["rc 6"]
    await socket.tasks.cancel_all()


def skipped_frames() -> float:
    return REGISTRY.get_sample_value("typing_frames_skipped_total") or 0.0


def budget_waits(budget: str) -> float:
    return REGISTRY.get_sample_value("typing_budget_waits_total", {"budget": budget}) or 0.0


async def test_past_its_budget_a_socket_waits_and_then_predicts_only_the_newest(time):
    # 10 ms a second with 1 ms at once: a 50 ms prediction leaves a debt of 4.9 s.
    socket = Socket(time, cost=50.0, budgets=budgets_for(time, own=(10.0, 1.0)))
    await socket.machine.typed("rc", "t1")
    await settle()
    assert socket.predicted == ["rc"]
    skipped, waits = skipped_frames(), budget_waits("socket")
    for text in ("rc 6", "rc 60", "rc 600"):
        await socket.machine.typed(text, None)
        await settle()
    await time.advance(4.8)
    assert socket.predicted == ["rc"]
    await time.advance(0.2)
    assert socket.predicted == ["rc", "rc 600"]
    assert skipped_frames() - skipped == 2  # "rc 6" and "rc 60", never predicted
    assert budget_waits("socket") - waits == 1  # one wait, for the whole debt


async def test_frames_arriving_while_a_prediction_waits_for_its_turn_replace_its_text(time):
    # Past the process's knee predictions queue for their turn: what runs then is the newest.
    socket = Socket(time)
    socket.turn = asyncio.Event()
    skipped = skipped_frames()
    for text in ("r", "rc", "rc 6"):
        await socket.machine.typed(text, None)
        await settle()
    socket.turn.set()
    await settle()
    assert socket.predicted == ["rc 6"]
    assert skipped_frames() - skipped == 2


async def test_a_prediction_failing_before_its_turn_is_reported_and_not_retried(time):
    socket = Socket(time)
    socket.queue_broken = True
    await socket.machine.typed("rc", "t1")
    await settle()
    assert socket.failed == ["t1"]
    socket.queue_broken = False
    await socket.machine.typed("rc 6", "t2")
    await settle()
    assert socket.predicted == ["rc 6"]


async def test_each_prediction_takes_its_turn_by_what_the_socket_spent_lately(time):
    socket = Socket(time, cost=5.0, budgets=budgets_for(time, own=(10.0, 50.0)))
    for text in ("r", "rc", "rc 6"):
        await socket.machine.typed(text, None)
        await settle()
    await time.advance(0.2)  # 2 ms of the 10 ms spent are back
    await socket.machine.typed("rc 60", None)
    await settle()
    assert socket.usages == [0.0, 5.0, 10.0, pytest.approx(13.0)]


async def test_past_its_light_share_a_socket_waits_for_the_process_budget(time):
    process = WorkBudget(rate=100.0, burst=100.0, clock=time.clock)
    budgets = budgets_for(time, light=(1.0, 5.0), process=process)
    socket = Socket(time, cost=300.0, budgets=budgets)
    await socket.machine.typed("heavy", None)
    await settle()
    waits = budget_waits("process")
    # 300 ms charged to the light share (5 ms) and to the process (100 ms): 2 s of debt there.
    await socket.machine.typed("heavier", None)
    await time.advance(1.9)
    assert socket.predicted == ["heavy"]
    await time.advance(0.2)
    assert socket.predicted == ["heavy", "heavier"]
    assert budget_waits("process") - waits == 1


async def test_while_it_has_light_share_a_socket_skips_the_spent_process_budget(time):
    process = WorkBudget(rate=100.0, burst=100.0, clock=time.clock)
    # Other sockets spent the process's budget for the next 100 s.
    process.charge(cpu_ms=10_000.0, wall_ms=10_000.0)
    socket = Socket(time, budgets=budgets_for(time, process=process))
    waits = budget_waits("process")
    await socket.machine.typed("rc 600", None)
    await settle()
    assert socket.predicted == ["rc 600"]
    assert budget_waits("process") == waits


async def test_a_failed_prediction_is_reported_with_its_ref_and_typing_goes_on(time):
    socket = Socket(time)
    await socket.machine.typed("boom", "t1")
    await settle()
    await socket.machine.typed("rc 600", "t2")
    await settle()
    assert (socket.failed, socket.predicted) == (["t1"], ["rc 600"])


# --- the focus ------------------------------------------------------------------------------------


async def test_a_confident_product_is_prefetched_at_once_and_followed_once_it_settles(time):
    socket = Socket(time)
    socket.focus_of["rc 600"] = (1, card(1, (10, "missing"), (11, "ready")))
    await socket.machine.typed("rc 600", None)
    await settle()
    assert socket.prefetched == [10]  # a ready document needs no fetch
    assert socket.machine.product_id == "product-1" and socket.machine.pk == 1
    assert socket.followed == set()
    await time.advance(FOCUS_SETTLES_AFTER)
    assert socket.followed == {10, 11}
    assert socket.machine.manual_ids == {10, 11}
    assert socket.machine.followed_product_id == "product-1"
    assert socket.saved == []  # a focus moved by typing is written later, not per keystroke


async def test_a_focus_that_moves_before_it_settles_is_never_followed(time):
    socket = Socket(time)
    socket.focus_of["rc 600"] = (1, card(1, (10, "missing")))
    socket.focus_of["katana"] = (2, card(2, (20, "missing")))
    await socket.machine.typed("rc 600", None)
    await settle()
    await time.advance(FOCUS_SETTLES_AFTER / 2)
    await socket.machine.typed("katana", None)
    await settle()
    await time.advance(FOCUS_SETTLES_AFTER / 2)
    assert socket.ever_followed == set()
    await time.advance(FOCUS_SETTLES_AFTER)
    assert socket.ever_followed == {20}
    assert socket.prefetched == [10, 20]


async def test_each_document_is_prefetched_once_per_socket(time):
    socket = Socket(time)
    looper = card(1, (10, "missing"), (11, "failed"))
    socket.focus_of["rc 600"] = (1, looper)
    for _ in range(3):
        await socket.machine.typed("rc 600", None)
        await time.advance(FOCUS_SETTLES_AFTER)
    await socket.machine.prefetch(looper)
    assert socket.prefetched == [10, 11]


async def test_following_another_product_leaves_only_the_groups_it_no_longer_needs(time):
    socket = Socket(time)
    await socket.machine.take(1, card(1, (10, "ready"), (11, "ready")))
    await socket.machine.take(3, card(3, (11, "ready"), (12, "ready")))
    assert socket.followed == {11, 12} and socket.machine.manual_ids == {11, 12}
    assert socket.machine.followed_product_id == "product-3"


async def test_a_click_wins_over_a_focus_still_settling_and_is_saved(time):
    socket = Socket(time)
    socket.focus_of["rc 600"] = (1, card(1, (10, "missing")))
    await socket.machine.typed("rc 600", None)
    await settle()
    click = asyncio.ensure_future(socket.machine.select(2, card(2, (20, "ready"))))
    await settle()
    assert not click.done()  # the focus change on its way ends first
    await time.advance(FOCUS_SETTLES_AFTER)
    await click
    assert socket.ever_followed == {20}
    assert (socket.machine.pk, socket.saved) == (2, [2])


async def test_the_focus_is_written_with_the_activity_stamp_at_most_once_a_period(time):
    socket = Socket(time)
    await socket.machine.take(1, card(1))
    socket.machine.touch()
    await time.advance(TOUCH_EVERY - 1)
    socket.machine.touch()
    await settle()
    assert socket.touched == []
    await time.advance(1)
    socket.machine.touch()
    socket.machine.touch()
    await settle()
    assert socket.touched == [1]


# --- the tasks it starts --------------------------------------------------------------------------


async def test_closing_ends_every_task_it_started_and_starts_no_more(time):
    socket = Socket(time, cost=50.0, budgets=budgets_for(time, own=(10.0, 1.0)))
    socket.focus_of["rc"] = (1, card(1, (10, "missing")))
    await socket.machine.typed("rc", None)
    await settle()
    await socket.machine.typed("rc 600", None)  # waits 4.9 s for the budget
    await settle()
    assert time.sleeping == 2  # the typing worker and the focus settling
    await socket.tasks.cancel_all()
    await socket.machine.typed("katana", None)
    await time.advance(60)
    assert socket.predicted == ["rc"] and socket.ever_followed == set()
    assert not [t for t in asyncio.all_tasks() if "TypingFocus" in repr(t.get_coro())]
