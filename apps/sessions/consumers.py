"""The chat socket (PROTOCOL.md) and the bare echo socket the benchmark compares it with.

The consumer validates, calls the prediction index or a service, and sends. Its own state is
per connection: the rate-limit bucket, the newest typing still to answer, the product in
focus and the manual group it listens to, and the manuals it already asked to prefetch.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django import db
from django.conf import settings
from redis.exceptions import RedisError

from apps.manuals.selectors import card_with_documents
from apps.manuals.services import manual_group, request_prefetch
from apps.products.prediction import get_index
from apps.sessions import cards, protocol, selectors, services
from apps.sessions.handoff.consumer import HandoffMixin
from apps.sessions.handoff.events import chat_group
from apps.sessions.models import ChatSession
from apps.sessions.protocol import Envelope, ProtocolError
from apps.sessions.ratelimit import (
    TokenBucket,
    WorkBudget,
    address_budget,
    allow_address,
    close_socket,
    light_budget,
    open_socket,
    process_budget,
    scope_address,
)
from hscjit.logging_context import log_context
from hscjit.metrics import (
    PREDICTION_LATENCY,
    PRODUCTS_PREDICTED,
    WEBSOCKET_ACTIVE_CONNECTIONS,
    WEBSOCKET_ERRORS,
)
from hscjit.pools import on_pool

logger = logging.getLogger(__name__)
T = TypeVar("T")

CLOSE_NOT_OWNER = 4403
CLOSE_NO_SESSION = 4404
CLOSE_FLOOD = 4429
CLOSE_TOO_BIG = 1009
# What the Redis channel layer raises while Redis is away (redis-py's errors are not OSErrors).
LAYER_ERRORS: tuple[type[BaseException], ...] = (OSError, RedisError)
LAYER_RETRY_FIRST = 0.5
LAYER_RETRY_MAX = 5.0
# last_activity_at is for cleanup, which thinks in hours, and the focus a typing customer
# moves is for the next page load and the transcript: one write a minute is plenty.
TOUCH_EVERY = 60.0
# While a customer types, the confident product changes every few keystrokes: its manual's
# group is joined once the focus has held this long (the manual is requested at once).
FOCUS_SETTLES_AFTER = 0.25


# Queries run on the shared thread pool rather than the single thread-sensitive one, which
# Channels also uses for every incoming message: one connection's query must not hold up
# every other connection's next message.
_set_focus = on_pool(services.set_focus)
_session_by_id = on_pool(selectors.session_by_id)
_active_product = on_pool(selectors.active_product)
_request_prefetch = on_pool(request_prefetch)
_card = on_pool(card_with_documents)


def _document_ids(card: dict[str, Any]) -> frozenset[int]:
    return frozenset(document["id"] for document in card.get("documents") or [])


def _read_catalog_into_memory() -> None:
    get_index()
    cards.warm()


_warm_memory = on_pool(_read_catalog_into_memory)
# Counted before the session is looked up, so a flood of sockets costs a cache call each.
_allow_connection = sync_to_async(
    lambda scope: allow_address(kind="connections", address=scope_address(scope)),
    thread_sensitive=False,
)


class ChatConsumer(HandoffMixin, AsyncWebsocketConsumer):
    chat: ChatSession | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Every record logged while handling this socket's events (and in the tasks they
        # start, which copy the context) names the chat session and the product in focus.
        with log_context(
            session_id=self.scope["url_route"]["kwargs"].get("session_id"),
            product_id=getattr(self, "_focus_product_id", None),
        ):
            # Channels' own dispatch first closes stale database connections on the one
            # thread all sockets share, a thread hop per frame: under a flood of frames every
            # socket's next frame queues there. This consumer's database work runs on_pool,
            # which hands each connection back after its call: there is nothing to close.
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)

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
        chat = await _session_by_id(session_id=session_id)
        if chat is None:
            await self.close(code=CLOSE_NO_SESSION)
            return
        session = self.scope.get("session")
        if session is None or not session.session_key or session.session_key != chat.owner_key:
            await self.close(code=CLOSE_NOT_OWNER)
            return
        # The first connection of a process builds the index, off the event loop.
        await _warm_memory()
        self.chat = chat
        self._closing = False
        self._bucket = TokenBucket(
            rate=settings.CHAT_RATE_PER_SECOND, burst=settings.CHAT_RATE_BURST
        )
        self._strikes = 0
        self._budget = WorkBudget(
            rate=settings.CHAT_PREDICTION_MS_PER_SECOND, burst=settings.CHAT_PREDICTION_BURST_MS
        )
        self._light = light_budget()
        self._touched = time.monotonic()
        self._touch_task: asyncio.Task[None] | None = None
        self._pending: tuple[str, str | None] | None = None
        self._typing_worker: asyncio.Task[None] | None = None
        self._wanted_focus: tuple[int, dict[str, Any]] | None = None
        self._focus_worker: asyncio.Task[None] | None = None
        # Questions whose answer (or the follow-up work after it) is still running; the socket
        # takes a new question once the previous answer_end is out.
        self._ask_tasks: set[asyncio.Task[None]] = set()
        self._answering = False
        self._focus_pk: int | None = chat.product_id
        self._focus_product_id: str | None = None
        self._manual_product_id: str | None = None
        self._manual_ids: frozenset[int] = frozenset()
        self._prefetched: set[int] = set()
        WEBSOCKET_ACTIVE_CONNECTIONS.inc()
        try:
            await self.handoff_connect()
        except LAYER_ERRORS as error:
            # Redis is away: the socket stays for what needs no Redis; an agent's replies
            # reach it again after the page reconnects.
            logger.warning("chat %s: could not join its live-support group: %r", chat.pk, error)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # disconnect() is skipped when daphne cancels a consumer whose disconnect waits behind
        # queued frames, or when the channel layer fails: the cleanup runs however it ends.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await asyncio.shield(self._clean_up())

    # Channels reads the channel layer through `channel_receive`; through this wrapper an
    # outage of the layer (Redis) no longer ends the consumer: the socket stays open for what
    # needs no Redis (typing, answers from ready manuals) while reads are retried.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._layer_receive = receive

    async def _receive_from_layer(self) -> dict[str, Any]:
        pause = LAYER_RETRY_FIRST
        lost = False
        while True:
            try:
                if lost:
                    # A restarted Redis has forgotten this socket's groups: join them again
                    # before reading, or pushes and agents' replies would never reach it.
                    await self._join_groups()
                    lost = False
                return await self._layer_receive()
            except LAYER_ERRORS as error:
                lost = True
                logger.warning("channel layer unavailable, retrying in %.1f s: %r", pause, error)
                await asyncio.sleep(pause)
                pause = min(LAYER_RETRY_MAX, pause * 2)

    async def _join_groups(self) -> None:
        if self.chat is None:
            return
        for group in [chat_group(self.chat.pk), *map(manual_group, self._manual_ids)]:
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        await self._clean_up()

    async def _clean_up(self) -> None:
        if getattr(self, "_counted_open", False):
            self._counted_open = False
            close_socket(self._address)
        if self.chat is None:
            return
        chat, self.chat = self.chat, None
        WEBSOCKET_ACTIVE_CONNECTIONS.dec()
        tasks = [
            task
            for task in (
                self._typing_worker,
                self._focus_worker,
                self._touch_task,
                *self._ask_tasks,
            )
            if task is not None
        ]
        for task in tasks:
            task.cancel()
        # Awaited, so none is left to end (or fail) unobserved after the socket.
        await asyncio.gather(*tasks, return_exceptions=True)
        steps: list[Callable[[], Awaitable[Any]]] = [
            *(
                functools.partial(
                    self.channel_layer.group_discard, manual_group(manual_id), self.channel_name
                )
                for manual_id in self._manual_ids
            ),
            functools.partial(self._handoff_disconnect_of, chat),
            functools.partial(self._save_focus_of, chat),
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

    async def _save_focus_of(self, chat: ChatSession) -> None:
        if chat.product_id != self._focus_pk:
            chat.product_id = self._focus_pk
            await _set_focus(session_id=chat.pk, product_pk=self._focus_pk)

    # --- frames ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.chat is None or self._closing:
            return
        envelope: Envelope | None = None
        try:
            if self._oversized(text_data, bytes_data):
                await self._close(CLOSE_TOO_BIG)
                return
            if not self._bucket.take():
                await self._refuse_flood(text_data)
                return
            self._strikes = 0
            if text_data is None:
                raise ProtocolError("bad_frame", "Binary frames are not part of the protocol.")
            envelope = protocol.parse_frame(text_data)
            self._touch()
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

    @staticmethod
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

    async def _refuse_flood(self, text_data: str | None) -> None:
        self._strikes += 1
        if self._strikes > settings.CHAT_RATE_STRIKES:
            await self._close(CLOSE_FLOOD)
            return
        # The refusal answers this message too, so it carries the message's ref if it has one.
        try:
            ref = protocol.parse_frame(text_data).ref
        except ProtocolError as error:
            ref = error.ref
        await self.send_error("rate_limited", "Too many messages; slow down.", ref)

    async def _close(self, code: int) -> None:
        self._closing = True
        try:
            await self.close(code=code)
        except Exception:
            # Autobahn refuses 1009 from an application: daphne should have refused the frame
            # itself (--websocket-max-message-size). The socket must not stay open regardless.
            logger.warning("the server refused close code %s; closing with 1000", code)
            await self.close(code=1000)

    def _touch(self) -> None:
        """Record activity and the focus in the background: no message waits for this write."""
        now = time.monotonic()
        if now - self._touched >= TOUCH_EVERY and self.chat is not None:
            self._touched = now
            self.chat.product_id = self._focus_pk
            self._touch_task = asyncio.create_task(
                _set_focus(session_id=self.chat.pk, product_pk=self._focus_pk)
            )

    async def send_json(self, message: dict[str, Any]) -> None:
        # Every error this socket sends is counted here, the ask flow's included.
        if message["type"] == "error":
            WEBSOCKET_ERRORS.labels(message["code"]).inc()
        await self.send(text_data=json.dumps(message, ensure_ascii=False))

    async def send_error(self, code: str, message: str, ref: str | None) -> None:
        await self.send_json(protocol.error_message(code, message, ref))

    # --- typing: latest wins ---------------------------------------------------------------

    async def on_typing(self, envelope: Envelope) -> None:
        text = protocol.text_field(envelope.body, "text", maximum=protocol.MAX_TYPING)
        # Only the newest text waits; a burst is answered for its last message.
        self._pending = (text, envelope.ref)
        if self._typing_worker is None or self._typing_worker.done():
            self._typing_worker = asyncio.create_task(self._answer_typing())

    async def _answer_typing(self) -> None:
        shared = address_budget(self._address)
        while self._pending is not None:
            # Over its budget (or its address's), this socket waits; frames arriving meanwhile
            # replace the pending text, so only the newest is predicted.
            wait = max(self._budget.wait(), shared.wait() if shared else 0.0)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            # Let frames already queued for this socket be read first: latest wins for them too.
            await asyncio.sleep(0)
            if self._pending is None:
                return
            # All work is charged to the process's budget; past its light share a socket
            # waits for that budget, checked right before the work (no await in between), so
            # sockets that wake together cannot all spend the same balance.
            process = process_budget()
            if process is not None and self._light.wait() > 0 and (wait := process.wait()) > 0:
                await asyncio.sleep(wait)
                continue
            text, ref = self._pending
            self._pending = None
            budgets = [b for b in (self._budget, self._light, shared, process) if b is not None]
            try:
                await self._predict(text, ref, charge=budgets)
            except Exception:
                logger.exception("prediction failed")
                await self.send_error("internal", "Could not predict the product.", ref)

    async def _predict(
        self, text: str, ref: str | None, *, charge: Sequence[WorkBudget] = ()
    ) -> None:
        """Send the prediction for `text`, charging its work (ms) to `charge` first."""
        started = time.perf_counter()
        # The budget charges the work (CPU time of this thread), not the time the process
        # waited for a core or another thread: under load a socket pays for what it did.
        worked = time.thread_time()
        index = get_index()
        candidates = index.predict(text)
        found = cards.cards_for(index, [candidate.pk for candidate in candidates])
        elapsed = time.perf_counter() - started
        work = (time.thread_time() - worked) * 1000
        for budget in charge:
            budget.charge(work)
        PREDICTION_LATENCY.observe(elapsed)
        await self.send_json(
            {
                "type": "prediction",
                "ref": ref,
                "text": text,
                "candidates": [
                    {
                        "product": found[candidate.pk],
                        "confidence": candidate.confidence,
                        "confident": candidate.confident,
                    }
                    for candidate in candidates
                    if candidate.pk in found
                ],
                "took_ms": round(elapsed * 1000, 2),
            }
        )
        top = candidates[0] if candidates else None
        if top is not None and top.confident and top.pk in found:
            PRODUCTS_PREDICTED.inc()
            self._focus_later(top.pk, found[top.pk])

    # --- focus and the manual it follows ---------------------------------------------------

    def _focus_later(self, pk: int, card: dict[str, Any]) -> None:
        """Move the focus without making the next keystroke wait for the database or Redis.

        Latest wins here too: while one change is being applied, only the newest waits.
        """
        self._focus_product_id = card["id"]
        self._focus_pk = pk
        self._wanted_focus = (pk, card)
        if self._focus_worker is None or self._focus_worker.done():
            self._focus_worker = asyncio.create_task(self._apply_focus())

    async def _apply_focus(self) -> None:
        while (wanted := self._wanted_focus) is not None:
            pk, card = wanted
            try:
                # The manual starts loading at once; the focus waits until typing settles.
                await self._prefetch(card)
                await asyncio.sleep(FOCUS_SETTLES_AFTER)
                if self._wanted_focus is not wanted:
                    continue
                self._wanted_focus = None
                await self._take_focus(pk, card)
            except Exception:
                self._wanted_focus = None
                logger.exception("could not move the focus to product %s", card.get("id"))

    async def _take_focus(self, pk: int, card: dict[str, Any], *, save: bool = False) -> None:
        """Make the product the session's focus and listen to its manual's status.

        The row is written now only when `save` is set (a click); a focus moved by typing is
        written with the next question, the next activity stamp, or when the socket closes.
        """
        self._focus_product_id = card["id"]
        self._focus_pk = pk
        if save:
            await self._save_focus()
        await self._follow_manuals(_document_ids(card), card["id"])

    async def _save_focus(self) -> None:
        if self.chat is not None:
            await self._save_focus_of(self.chat)

    async def _prefetch(self, card: dict[str, Any]) -> None:
        """Ask for each document once per connection; the manuals service dedupes across them."""
        for document in card.get("documents") or []:
            if document["status"] == "ready" or document["id"] in self._prefetched:
                continue
            self._prefetched.add(document["id"])
            try:
                await _request_prefetch(manual_id=document["id"])
            except Exception:
                # Answering waits for the document anyway; a lost prefetch only costs time.
                logger.exception("could not request a prefetch of manual %s", document["id"])

    async def _follow_manuals(self, manual_ids: frozenset[int], product_id: str) -> None:
        # Pushes name the product whose documents this socket listens to, which can trail the
        # focus that typing just moved.
        self._manual_product_id = product_id
        # What the socket follows is settled first: when the layer fails below, the reader
        # joins these groups once it is back, and pushes of the others are ignored.
        followed, self._manual_ids = self._manual_ids, manual_ids
        for manual_id in followed - manual_ids:
            await self.channel_layer.group_discard(manual_group(manual_id), self.channel_name)
        for manual_id in manual_ids - followed:
            await self.channel_layer.group_add(manual_group(manual_id), self.channel_name)

    async def manual_status(self, event: dict[str, Any]) -> None:
        """A `manual.status` group message: a document of the product in focus moved on."""
        if event.get("manual_id") not in self._manual_ids or self.chat is None:
            return
        await self.send_json(
            {
                "type": "manual_status",
                "manual_id": event.get("manual_id"),
                "product_id": self._manual_product_id,
                "status": event.get("status"),
                "progress": event.get("progress"),
                "pages": event.get("pages"),
                "error": event.get("error"),
            }
        )

    # --- the other messages ----------------------------------------------------------------

    async def on_select(self, envelope: Envelope) -> None:
        catalog_id = protocol.text_field(
            envelope.body, "product_id", maximum=protocol.MAX_PRODUCT_ID, minimum=1
        )
        product = await _active_product(catalog_id=catalog_id)
        if product is None:
            raise ProtocolError("not_found", "There is no such product in the catalog.")
        card = await _card(product=product)
        # Focus and subscription first: `selected` promises both, and status pushes follow it.
        # A focus change still on its way from typing is dropped (or ends first), so this one wins.
        if self._focus_worker is not None and not self._focus_worker.done():
            self._wanted_focus = None
            await asyncio.shield(self._focus_worker)
        await self._take_focus(product.pk, card, save=True)
        await self.send_json({"type": "selected", "ref": envelope.ref, "product": card})
        await self._prefetch(card)

    async def on_ping(self, envelope: Envelope) -> None:
        await self.send_json({"type": "pong", "ref": envelope.ref})

    async def on_ask(self, envelope: Envelope) -> None:
        text = protocol.text_field(envelope.body, "text", maximum=protocol.MAX_QUESTION, minimum=1)
        product_id = protocol.optional_text_field(
            envelope.body, "product_id", maximum=protocol.MAX_PRODUCT_ID
        )
        lang = protocol.lang_field(envelope.body)
        if self._answering:
            raise ProtocolError(
                "rate_limited", "One question at a time: wait for the answer to finish."
            )
        # A question is about the product in view: a reload after it must show that product.
        await self._save_focus()
        # Without a product_id the question is about the focus, as on the page (PROTOCOL.md).
        product_id = product_id or self._focus_product_id
        # A task, so this socket keeps reading (pings, typing) while the answer streams.
        self._answering = True
        task = asyncio.create_task(self._ask(text, product_id, envelope.ref, lang))
        self._ask_tasks.add(task)
        task.add_done_callback(self._ask_tasks.discard)

    async def _ask(
        self, text: str, product_id: str | None, ref: str | None, lang: str | None = None
    ) -> None:
        # Imported on first use: answering brings in the retrieval stack.
        from apps.sessions import answering

        assert self.chat is not None
        said: dict[str, dict[str, Any]] = {}

        async def send(message: dict[str, Any]) -> None:
            said[message["type"]] = message
            if message["type"] == "answer_end":
                self._answering = False
            await self.send_json(message)

        try:
            # A person takes the question when one has the chat or it asks for one (1.1).
            if await self.handoff_takes_question(text, ref):
                return
            await answering.run_ask(
                session=self.chat, text=text, product_id=product_id, ref=ref, send=send, lang=lang
            )
            start = said.get("answer_start") or {}
            product = start.get("product")
            if product and self.chat is not None and self.chat.product_id is not None:
                # The answer made its product the conversation's: a follow-up that names none
                # is about it, and the socket follows its documents.
                try:
                    await self._take_focus(self.chat.product_id, product)
                except LAYER_ERRORS as error:
                    # The answer is out; the reader joins the documents' groups once the
                    # channel layer is back.
                    logger.warning("could not follow the answer's documents: %r", error)
            await self.handoff_after_answer(said.get("answer_end"), start.get("question_id"))
        except asyncio.CancelledError:
            raise
        except (ConnectionError, TimeoutError, db.OperationalError, *LAYER_ERRORS) as error:
            # A dependency (the database, Redis, the LLM endpoint) is down or saturated, not
            # a bug.
            logger.warning("answer unavailable: %s", error)
            await self.send_error("unavailable", "The answer service is busy; try again.", ref)
        except Exception:
            logger.exception("answer failed")
            await self.send_error("internal", "Could not answer that; try again.", ref)
        finally:
            if said.get("answer_end") is None:
                self._answering = False

    async def on_feedback(self, envelope: Envelope) -> None:
        from apps.sessions import answering

        message_id = protocol.message_id_field(envelope.body)
        rating = protocol.rating_field(envelope.body)
        comment = protocol.optional_text_field(
            envelope.body, "comment", maximum=protocol.MAX_COMMENT
        )
        assert self.chat is not None
        try:
            await answering.save_feedback(
                session=self.chat, message_id=message_id, rating=rating, comment=comment or ""
            )
        except LookupError:
            raise ProtocolError("not_found", "There is no such answer in this chat.") from None
        await self.send_json(
            {"type": "feedback_saved", "ref": envelope.ref, "message_id": message_id}
        )
        await self.handoff_after_feedback(rating, envelope.ref)


class EchoConsumer(AsyncWebsocketConsumer):
    """Answers each message at once with an empty prediction: the floor of the stack."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            body = json.loads(text_data or "")
        except ValueError:
            body = {}
        ref = body.get("ref") if isinstance(body, dict) else None
        text = body.get("text") if isinstance(body, dict) else None
        await self.send(
            text_data=json.dumps(
                {"type": "prediction", "ref": ref, "text": text, "candidates": [], "took_ms": 0.0}
            )
        )
