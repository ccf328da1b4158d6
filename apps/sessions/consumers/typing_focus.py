"""What a chat socket does while its customer types, as a plain class tests drive without one.

Latest wins: only the newest text waits to be predicted, and a socket over its prediction
budgets waits while frames arriving meanwhile replace that text. The confident product
becomes the focus: its documents are asked for at once (each once per socket), and their
status groups are followed once the focus has held for `settles_after`, so a customer still
typing does not make the socket join and leave groups on every keystroke. The socket's I/O
comes in as `FocusActions`, time as a clock and a sleep, its tasks go through `start`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.sessions.ratelimit import WorkBudget, address_budget, light_budget, process_budget
from hscjit.metrics import TYPING_BUDGET_WAITS, TYPING_SKIPPED

logger = logging.getLogger(__name__)

Card = dict[str, Any]
# While a customer types, the confident product changes every few keystrokes: its manual's
# group is joined once the focus has held this long (the manual is requested at once).
FOCUS_SETTLES_AFTER = 0.25
# last_activity_at is for cleanup, which thinks in hours, and the focus a typing customer
# moves is for the next page load and the transcript: one write a minute is plenty.
TOUCH_EVERY = 60.0


@dataclass(frozen=True)
class Budgets:
    """The prediction budgets typing is charged to (apps.sessions.ratelimit): the socket's
    own, its light share, and the address's and process's, looked up when work is near."""

    own: WorkBudget
    light: WorkBudget
    shared: Callable[[], WorkBudget | None]
    process: Callable[[], WorkBudget | None]

    @classmethod
    def for_socket(cls, address: str | None) -> Budgets:
        return cls(
            own=WorkBudget(
                rate=settings.CHAT_PREDICTION_MS_PER_SECOND,
                burst=settings.CHAT_PREDICTION_BURST_MS,
            ),
            light=light_budget(),
            shared=functools.partial(address_budget, address),
            process=process_budget,
        )


@dataclass(frozen=True)
class FocusActions:
    """The socket's side of the state machine."""

    # Send the prediction of the (text, ref) that the first argument takes when the work's
    # turn comes, charging its work to the budgets, in its turn by what the socket spent
    # lately (ms); a confident one calls `focus_later`.
    predict: Callable[
        [Callable[[], tuple[str, str | None]], Sequence[WorkBudget], float], Awaitable[None]
    ]
    prediction_failed: Callable[[str | None], Awaitable[None]]
    # Whether a prediction would run at once, without waiting for its turn.
    turn_free: Callable[[], bool]
    prefetch: Callable[[int], Awaitable[object]]
    follow: Callable[[int], Awaitable[None]]
    unfollow: Callable[[int], Awaitable[None]]
    # Write the product in focus (the session's product) if it moved.
    save_focus: Callable[[int | None], Awaitable[None]]
    # Write it and the activity stamp, in the background.
    touch: Callable[[int | None], Coroutine[Any, Any, None]]


def _document_ids(card: Card) -> frozenset[int]:
    return frozenset(document["id"] for document in card.get("documents") or [])


class TypingFocus:
    def __init__(
        self,
        *,
        actions: FocusActions,
        budgets: Budgets,
        start: Callable[[Coroutine[Any, Any, None]], asyncio.Task[Any] | None],
        focus_pk: int | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        settles_after: float = FOCUS_SETTLES_AFTER,
        touch_every: float = TOUCH_EVERY,
    ) -> None:
        self._actions = actions
        self._budgets = budgets
        self._start = start
        self._clock = clock
        self._sleep = sleep
        self._settles_after = settles_after
        self._touch_every = touch_every
        # The product in focus, and its catalog id once this socket moved it.
        self.pk = focus_pk
        self.product_id: str | None = None
        # The product whose documents' status groups this socket is in: pushes name it, and
        # it can trail the focus that typing just moved.
        self.followed_product_id: str | None = None
        self.manual_ids: frozenset[int] = frozenset()
        self._pending: tuple[str, str | None] | None = None
        self._taken: tuple[str, str | None] | None = None
        self._typing_worker: asyncio.Task[Any] | None = None
        # Set while the worker answers (or waits for budgets): new texts are left to it.
        self._answering = False
        self._typed = asyncio.Event()
        self._wanted: tuple[int, Card] | None = None
        self._focus_worker: asyncio.Task[Any] | None = None
        self._prefetched: set[int] = set()
        self._touched = clock()

    # --- typing: latest wins ---------------------------------------------------------------

    async def typed(self, text: str, ref: str | None, *, more_queued: bool = False) -> None:
        """Only the newest text waits; a burst is answered for its last message.

        A socket whose worker is idle, with no frame of its own queued behind this one, every
        budget in hand and the prediction's turn free predicts here, in the pass of the loop
        that read the frame; otherwise its worker takes the newest text in a later pass.
        """
        if self._pending is not None:
            TYPING_SKIPPED.inc()  # latest wins: the text it replaces is never predicted
        self._pending = (text, ref)
        if self._answering:
            self._typed.set()
            return
        if not more_queued and self._actions.turn_free():
            shared = self._budgets.shared()
            if self._in_hand(shared):
                await self._predict_pending(shared, self._budgets.process())
                return
        if self._typing_worker is None or self._typing_worker.done():
            self._typing_worker = self._start(self._answer_typing())
        else:
            self._typed.set()

    def _in_hand(self, shared: WorkBudget | None) -> bool:
        """Whether no budget makes the work wait, the light share included: a socket past it
        always goes through its worker and the process budget."""
        own, light = self._budgets.own, self._budgets.light
        return own.wait() <= 0 and light.wait() <= 0 and (shared is None or shared.wait() <= 0)

    async def _answer_typing(self) -> None:
        """The socket's one typing worker, for its life: waking it for the next keystroke
        costs less than a task per keystroke (a customer types five a second)."""
        while True:
            self._answering = True
            try:
                await self._answer_pending()
            finally:
                self._answering = False
            self._typed.clear()
            await self._typed.wait()

    async def _answer_pending(self) -> None:
        own, light = self._budgets.own, self._budgets.light
        shared = self._budgets.shared()
        while self._pending is not None:
            # Over its budget (or its address's), this socket waits; frames arriving meanwhile
            # replace the pending text, so only the newest is predicted.
            own_wait, shared_wait = own.wait(), shared.wait() if shared else 0.0
            if own_wait > 0 or shared_wait > 0:
                TYPING_BUDGET_WAITS.labels("socket" if own_wait >= shared_wait else "address").inc()
                await self._sleep(max(own_wait, shared_wait))
                continue
            # All work is charged to the process's budget; past its light share a socket
            # waits for that budget, checked right before the work (no await in between), so
            # sockets that wake together cannot all spend the same balance.
            process = self._budgets.process()
            if process is not None and light.wait() > 0 and (wait := process.wait()) > 0:
                TYPING_BUDGET_WAITS.labels("process").inc()
                await self._sleep(wait)
                continue
            await self._predict_pending(shared, process)

    async def _predict_pending(self, shared: WorkBudget | None, process: WorkBudget | None) -> None:
        """Predict the newest text, charging the socket's budgets and those given."""
        own, light = self._budgets.own, self._budgets.light
        budgets = [b for b in (own, light, shared, process) if b is not None]
        self._taken = None
        try:
            await self._actions.predict(self._take, budgets, own.spent())
        except Exception:
            logger.exception("prediction failed")
            if self._taken is None:  # failed before its turn: its text is dropped too
                self._take()
            assert self._taken is not None
            await self._actions.prediction_failed(self._taken[1])

    def _take(self) -> tuple[str, str | None]:
        """The newest text, taken when its prediction's turn comes: frames that arrive while
        the work waits for its turn (apps.sessions.turns) replace it, latest wins there too."""
        assert self._pending is not None  # one prediction at a time takes it (see `typed`)
        self._taken, self._pending = self._pending, None
        return self._taken

    # --- the focus and the documents it follows ----------------------------------------------

    def focus_later(self, pk: int, card: Card) -> None:
        """Move the focus without making the next keystroke wait for the database or Redis.

        Latest wins here too: while one change is being applied, only the newest waits.
        """
        self.product_id = card["id"]
        self.pk = pk
        self._wanted = (pk, card)
        if self._focus_worker is None or self._focus_worker.done():
            self._focus_worker = self._start(self._apply_focus())

    async def _apply_focus(self) -> None:
        while (wanted := self._wanted) is not None:
            pk, card = wanted
            try:
                # The manual starts loading at once; the focus waits until typing settles.
                await self.prefetch(card)
                await self._sleep(self._settles_after)
                if self._wanted is not wanted:
                    continue
                self._wanted = None
                await self.take(pk, card)
            except Exception:
                self._wanted = None
                logger.exception("could not move the focus to product %s", card.get("id"))

    async def select(self, pk: int, card: Card) -> None:
        """A click: a focus change still on its way from typing is dropped (or ends first),
        so this one wins; it is saved at once."""
        worker = self._focus_worker
        if worker is not None and not worker.done():
            self._wanted = None
            await asyncio.shield(worker)
        await self.take(pk, card, save=True)

    async def take(self, pk: int, card: Card, *, save: bool = False) -> None:
        """Make the product the focus and follow its documents' status.

        The focus is written now only when `save` is set (a click); a focus moved by typing is
        written with the next question, the next activity stamp, or when the socket closes.
        """
        self.point_at(pk, card)
        if save:
            await self.save()
        await self._follow(_document_ids(card), card["id"])

    def point_at(self, pk: int, card: Card) -> None:
        """Make the product the focus now, before its documents are followed."""
        self.product_id = card["id"]
        self.pk = pk

    async def save(self) -> None:
        await self._actions.save_focus(self.pk)

    async def prefetch(self, card: Card) -> None:
        """Ask for each document once per socket; the manuals service dedupes across them."""
        for document in card.get("documents") or []:
            if document["status"] == "ready" or document["id"] in self._prefetched:
                continue
            self._prefetched.add(document["id"])
            try:
                await self._actions.prefetch(document["id"])
            except Exception:
                # Answering waits for the document anyway; a lost prefetch only costs time.
                logger.exception("could not request a prefetch of manual %s", document["id"])

    async def _follow(self, manual_ids: frozenset[int], product_id: str) -> None:
        self.followed_product_id = product_id
        # What the socket follows is settled first: when the layer fails below, the reader
        # joins these groups once it is back, and pushes of the others are ignored.
        followed, self.manual_ids = self.manual_ids, manual_ids
        for manual_id in followed - manual_ids:
            await self._actions.unfollow(manual_id)
        for manual_id in manual_ids - followed:
            await self._actions.follow(manual_id)

    # --- activity ------------------------------------------------------------------------------

    def touch(self) -> None:
        """Record activity and the focus in the background: no message waits for this write."""
        now = self._clock()
        if now - self._touched >= self._touch_every:
            self._touched = now
            self._start(self._actions.touch(self.pk))
