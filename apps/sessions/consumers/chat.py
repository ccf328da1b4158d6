"""The chat socket, `/ws/chat/<id>/` (PROTOCOL.md, docs/protocol.md).

The consumer validates, calls a service and sends. Its state is per connection: the rate
limit's bucket, what typing moved (`TypingFocus`), the question being answered (AskMixin), and
the tasks it started (`TrackedTasks`), every one of them ended when the socket closes.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django import db
from django.conf import settings

from apps.manuals.selectors import card_with_documents
from apps.manuals.services import manual_group, request_prefetch
from apps.sessions import cards, predictions, protocol, selectors, services
from apps.sessions.consumers.asking import AskMixin
from apps.sessions.consumers.base import LAYER_ERRORS, SocketConsumer
from apps.sessions.consumers.tracked import TrackedTasks
from apps.sessions.consumers.typing_focus import Budgets, FocusActions, TypingFocus
from apps.sessions.handoff.consumer import HandoffMixin
from apps.sessions.handoff.events import chat_group
from apps.sessions.models import ChatSession
from apps.sessions.protocol import Envelope, ProtocolError
from apps.sessions.ratelimit import (
    TokenBucket,
    WorkBudget,
    allow_address,
    close_socket,
    open_socket,
    scope_address,
)
from apps.sessions.turns import prediction_turns
from hscjit.metrics import WEBSOCKET_ACTIVE_CONNECTIONS, WEBSOCKET_ERRORS
from hscjit.pools import on_pool

logger = logging.getLogger(__name__)

CLOSE_NOT_OWNER = 4403
CLOSE_NO_SESSION = 4404
CLOSE_FLOOD = 4429
CLOSE_TOO_BIG = 1009

# Queries run on the shared thread pool rather than the single thread-sensitive one, which
# Channels also uses for every incoming message: one connection's query must not hold up
# every other connection's next message.
_set_focus = on_pool(services.set_focus)
_session_for_socket = on_pool(selectors.session_for_socket)
_active_product = on_pool(selectors.active_product)
# By name on each call, so that a test fakes the manuals service where this module uses it.
_request_prefetch = on_pool(lambda **kwargs: request_prefetch(**kwargs))
_card = on_pool(card_with_documents)
# The first connection of a process builds the index, off the event loop.
_warm_memory = on_pool(predictions.warm)
# Counted before the session is looked up, so a flood of sockets costs a cache call each.
_allow_connection = sync_to_async(
    lambda scope: allow_address(kind="connections", address=scope_address(scope)),
    thread_sensitive=False,
)


class ChatConsumer(AskMixin, HandoffMixin, SocketConsumer):
    chat: ChatSession | None = None
    # Set with `chat` once the socket is accepted: while `chat` is set, so is this.
    _typing: TypingFocus

    def log_fields(self) -> dict[str, object]:
        typing = getattr(self, "_typing", None)
        return {
            "session_id": self.scope["url_route"]["kwargs"].get("session_id"),
            "product_id": typing.product_id if typing is not None else None,
        }

    def layer_groups(self) -> list[str]:
        if self.chat is None:
            return []
        return [chat_group(self.chat.pk), *map(manual_group, self._typing.manual_ids)]

    async def connect(self) -> None:
        # Accept first: a refusal before the handshake reaches a browser as a bare failure,
        # while a close after it carries the code the protocol promises.
        await self.accept()
        self._address = scope_address(self.scope)
        self._counted_open = open_socket(self._address)
        if not self._counted_open or not await _allow_connection(self.scope):
            await self.close(code=CLOSE_FLOOD)
            return
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        chat = await _session_for_socket(session_id=session_id)
        if chat is None:
            await self.close(code=CLOSE_NO_SESSION)
            return
        session = self.scope.get("session")
        if session is None or not session.session_key or session.session_key != chat.owner_key:
            await self.close(code=CLOSE_NOT_OWNER)
            return
        await _warm_memory()
        self.chat = chat
        self._bucket = TokenBucket(
            rate=settings.CHAT_RATE_PER_SECOND, burst=settings.CHAT_RATE_BURST
        )
        self._strikes = 0
        self._tasks = TrackedTasks()
        self._typing = TypingFocus(
            actions=self._focus_actions(),
            budgets=Budgets.for_socket(self._address),
            start=self._tasks.start,
            focus_pk=chat.product_id,
        )
        WEBSOCKET_ACTIVE_CONNECTIONS.inc()
        try:
            await self.handoff_connect()
        except LAYER_ERRORS as error:
            # Redis is away: the socket stays for what needs no Redis, and its reader joins
            # the live-support group once the channel layer is back (layer_groups).
            logger.warning("chat %s: could not join its live-support group: %r", chat.pk, error)

    def _focus_actions(self) -> FocusActions:
        layer, name = self.channel_layer, self.channel_name

        def touch(pk: int | None) -> Coroutine[Any, Any, None]:
            assert self.chat is not None
            self.chat.product_id = pk
            return _set_focus(session_id=self.chat.pk, product_pk=pk)

        async def save_focus(pk: int | None) -> None:
            if self.chat is not None:
                await self._save_focus_of(self.chat, pk)

        return FocusActions(
            predict=lambda take, charge, usage: self._predict(take, charge=charge, usage=usage),
            prediction_failed=functools.partial(
                self.send_error, "internal", "Could not predict the product."
            ),
            turn_free=lambda: prediction_turns().free(),
            prefetch=lambda manual_id: _request_prefetch(manual_id=manual_id),
            follow=lambda manual_id: layer.group_add(manual_group(manual_id), name),
            unfollow=lambda manual_id: layer.group_discard(manual_group(manual_id), name),
            save_focus=save_focus,
            touch=touch,
        )

    async def clean_up(self) -> None:
        if getattr(self, "_counted_open", False):
            self._counted_open = False
            close_socket(self._address)
        if self.chat is None:
            return
        chat, self.chat = self.chat, None
        WEBSOCKET_ACTIVE_CONNECTIONS.dec()
        await self._tasks.cancel_all()
        focus = self._typing
        steps: list[Callable[[], Awaitable[Any]]] = [
            *(
                functools.partial(
                    self.channel_layer.group_discard, manual_group(manual_id), self.channel_name
                )
                for manual_id in focus.manual_ids
            ),
            functools.partial(self._handoff_disconnect_of, chat),
            functools.partial(self._save_focus_of, chat, focus.pk),
        ]
        for step in steps:
            try:
                await step()
            except Exception as error:  # Redis or the database is down: the rest still runs
                logger.warning("chat %s: a cleanup step failed at close: %r", chat.pk, error)

    async def _handoff_disconnect_of(self, chat: ChatSession) -> None:
        self.chat = chat
        try:
            await self.handoff_disconnect()
        finally:
            self.chat = None

    @staticmethod
    async def _save_focus_of(chat: ChatSession, pk: int | None) -> None:
        if chat.product_id != pk:
            chat.product_id = pk
            await _set_focus(session_id=chat.pk, product_pk=pk)

    # --- frames ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.chat is None or self._closing:
            return
        envelope: Envelope | None = None
        try:
            if _oversized(text_data, bytes_data):
                await self.close_with(CLOSE_TOO_BIG)
                return
            if not self._bucket.take():
                await self._refuse_flood(text_data)
                return
            self._strikes = 0
            if text_data is None:
                raise ProtocolError("bad_frame", "Binary frames are not part of the protocol.")
            envelope = protocol.parse_frame(text_data)
            self._typing.touch()
            await getattr(self, f"on_{envelope.type}")(envelope)
        except ProtocolError as error:
            ref = envelope.ref if envelope is not None else error.ref
            await self.send_error(error.code, error.message, ref)
        except (db.OperationalError, *LAYER_ERRORS) as error:
            # The database or Redis is down or out of connections: the client may try again.
            logger.warning("chat socket: a dependency is unavailable: %r", error)
            ref = envelope.ref if envelope is not None else None
            await self.send_error("unavailable", "The service is briefly unavailable.", ref)
        except Exception:
            logger.exception("chat socket failed on a client message")
            ref = envelope.ref if envelope is not None else None
            await self.send_error("internal", "Something went wrong on our side.", ref)

    async def _refuse_flood(self, text_data: str | None) -> None:
        self._strikes += 1
        if self._strikes > settings.CHAT_RATE_STRIKES:
            await self.close_with(CLOSE_FLOOD)
            return
        # The refusal answers this message too, so it carries the message's ref if it has one.
        try:
            ref = protocol.parse_frame(text_data).ref
        except ProtocolError as error:
            ref = error.ref
        await self.send_error("rate_limited", "Too many messages; slow down.", ref)

    async def send_json(self, message: dict[str, Any]) -> None:
        # Every error this socket sends is counted here, the ask flow's included.
        if message["type"] == "error":
            WEBSOCKET_ERRORS.labels(message["code"]).inc()
        await self.send_text(json.dumps(message, ensure_ascii=False))

    async def send_text(self, frame: str) -> None:
        """Every frame this socket sends leaves here, built by `protocol`."""
        await self.send(text_data=frame)

    async def send_error(self, code: str, message: str, ref: str | None) -> None:
        await self.send_json(protocol.error(ref=ref, code=code, message=message))

    # --- typing, and the product it puts in focus ------------------------------------------

    async def on_typing(self, envelope: Envelope) -> None:
        text = protocol.text_field(envelope.body, "text", maximum=protocol.MAX_TYPING)
        await self._typing.typed(text, envelope.ref, more_queued=self.frames_queued())

    async def _predict(
        self,
        take: Callable[[], tuple[str, str | None]],
        *,
        charge: Sequence[WorkBudget],
        usage: float,
    ) -> None:
        """Send the prediction of the text `take` gives when its turn comes (apps.sessions.
        turns), charging its work (ms) to `charge` first."""

        def work() -> tuple[str, str | None, predictions.Prediction]:
            text, ref = take()
            beside = self._typing.pk is not None
            return text, ref, predictions.predict(text, beside_focus=beside)

        text, ref, found = await prediction_turns().run(work, usage=usage)
        for budget in charge:
            budget.charge(cpu_ms=found.work_ms, wall_ms=found.took_ms)
        await self.send_text(
            protocol.prediction_text(
                ref=ref,
                text=text,
                candidates=found.candidates,
                cards=cards.card_texts(found.cards),
                took_ms=found.took_ms,
            )
        )
        if found.focus is not None:
            self._typing.focus_later(*found.focus)

    async def manual_status(self, event: dict[str, Any]) -> None:
        """A `manual.status` group message: a document of the product in focus moved on."""
        if self.chat is None or event.get("manual_id") not in self._typing.manual_ids:
            return
        product_id = self._typing.followed_product_id
        await self.send_json(protocol.manual_status(event, product_id=product_id))

    async def on_select(self, envelope: Envelope) -> None:
        catalog_id = protocol.text_field(
            envelope.body, "product_id", maximum=protocol.MAX_PRODUCT_ID, minimum=1
        )
        product = await _active_product(catalog_id=catalog_id)
        if product is None:
            raise ProtocolError("not_found", "There is no such product in the catalog.")
        card = await _card(product=product)
        # Focus and subscription first: `selected` promises both, and status pushes follow it.
        await self._typing.select(product.pk, card)
        await self.send_json(protocol.selected(ref=envelope.ref, product=card))
        await self._typing.prefetch(card)

    # --- the other messages ----------------------------------------------------------------

    async def on_ping(self, envelope: Envelope) -> None:
        await self.send_json(protocol.pong(ref=envelope.ref))


def _oversized(text_data: str | None, bytes_data: bytes | None) -> bool:
    limit = settings.CHAT_MAX_FRAME_BYTES
    if bytes_data is not None:
        return len(bytes_data) > limit
    # A character is at most four bytes: only long texts need encoding to be measured.
    return (
        text_data is not None
        and len(text_data) * 4 > limit
        and len(text_data.encode("utf-8", "surrogatepass")) > limit
    )
