"""The staff console socket, `/ws/support/` (docs/protocol.md, "Staff console").

Only an active staff user with `chat.answer_customers` gets in; anyone else is closed with
4403 before reading anything. On every (re)connect the console receives the whole queue from
the database, so an event lost while Redis was down costs nothing but a reconnect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django import db

from apps.manuals.services.staff_notes import save_note
from apps.products.models import Product
from apps.sessions import protocol
from apps.sessions.handoff import selectors, services
from apps.sessions.handoff.events import QUEUE_GROUP, Event, apublish, conversation_group
from apps.sessions.protocol import ProtocolError
from hscjit.pools import on_pool

logger = logging.getLogger(__name__)

CLOSE_NOT_AGENT = 4403
HEARTBEAT_SECONDS = 30.0
# Conversations one console may follow at once (open tabs of the transcript pane).
MAX_OPEN = 20
CLIENT_TYPES = frozenset(
    {"open", "claim", "reply", "typing", "release", "requeue", "close", "save_note", "ping"}
)


def _may_answer(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("chat.answer_customers")
    )


def _hello(*, agent: Any, channel_name: str) -> dict[str, Any]:
    services.agent_seen(agent=agent, channel_name=channel_name)
    return {
        "type": "hello",
        "agent": {"id": agent.pk, "name": agent.get_short_name() or agent.get_username()},
        "queue": selectors.queue(),
        "agents_online": selectors.agents_online(),
    }


def _gone(*, channel_name: str) -> int:
    services.agent_gone(channel_name=channel_name)
    return selectors.agents_online()


def _note_from_reply(*, agent: Any, handoff_id: int, body: dict[str, Any]) -> int:
    handoff = selectors.handoff_by_id(handoff_id=handoff_id)
    if handoff is None or handoff.product_id is None:
        raise ValueError("This conversation is about no product: a note needs one.")
    product = Product.objects.get(pk=handoff.product_id)
    note = save_note(
        author=agent,
        product=product,
        text=protocol.text_field(body, "text", maximum=4000, minimum=1),
        on_family=body.get("scope") == "family",
        language=body.get("language") if isinstance(body.get("language"), str) else "",
        manual_id=_optional_int(body, "manual_id"),
        page=_optional_int(body, "page"),
        source_message_id=_optional_int(body, "message_id"),
    )
    return note.pk


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("invalid", f"`{name}` must be an integer.")
    return value


_may = on_pool(_may_answer)
_hello_on_pool = on_pool(_hello)
_gone_on_pool = on_pool(_gone)
_seen = on_pool(services.agent_seen)
_conversation = on_pool(selectors.conversation)
_claim = on_pool(services.claim)
_reply = on_pool(services.reply)
_release = on_pool(services.release)
_requeue = on_pool(services.requeue)
_close = on_pool(services.close)
_note = on_pool(_note_from_reply)


class ConsoleConsumer(AsyncWebsocketConsumer):
    agent: Any = None

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if not await _may(user):
            await self.close(code=CLOSE_NOT_AGENT)
            return
        self.agent = user
        self._opened: dict[int, str] = {}  # handoff id -> session id
        await self.channel_layer.group_add(QUEUE_GROUP, self.channel_name)
        hello = await _hello_on_pool(agent=user, channel_name=self.channel_name)
        await self._send(hello)
        await self._agents_changed(hello["agents_online"])
        self._heartbeat = asyncio.create_task(self._beat())

    async def disconnect(self, code: int) -> None:
        if self.agent is None:
            return
        self._heartbeat.cancel()
        await self.channel_layer.group_discard(QUEUE_GROUP, self.channel_name)
        for session_id in set(self._opened.values()):
            await self.channel_layer.group_discard(
                conversation_group(session_id), self.channel_name
            )
        try:
            await self._agents_changed(await _gone_on_pool(channel_name=self.channel_name))
        except db.Error:
            logger.warning("could not record that a console closed")
        self.agent = None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await _seen(agent=self.agent, channel_name=self.channel_name)
            except Exception:
                logger.warning("console heartbeat could not be saved", exc_info=True)

    async def _agents_changed(self, count: int) -> None:
        await apublish(
            self.channel_layer, [Event(QUEUE_GROUP, {"type": "agents.online", "count": count})]
        )

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, ensure_ascii=False))

    # --- frames -----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.agent is None:
            return
        ref: str | None = None
        try:
            body = json.loads(text_data or "")
            if not isinstance(body, dict):
                raise ProtocolError("bad_json", "A message must be a JSON object.")
            ref = body.get("ref") if isinstance(body.get("ref"), str) else None
            kind = body.get("type")
            if kind not in CLIENT_TYPES:
                raise ProtocolError("unknown_type", "Unknown message type.")
            await getattr(self, f"on_{kind}")(body, ref)
        except json.JSONDecodeError:
            await self._error("bad_json", "That frame is not valid JSON.", ref)
        except ValueError as error:
            await self._error("invalid", str(error), ref)
        except ProtocolError as error:
            await self._error(error.code, error.message, ref)
        except services.HandoffError as error:
            await self._error(error.code, error.message, ref)
        except db.OperationalError:
            await self._error("unavailable", "The database is briefly unavailable.", ref)
        except Exception:
            logger.exception("staff console failed on a message")
            await self._error("internal", "Something went wrong on our side.", ref)

    async def _error(self, code: str, message: str, ref: str | None) -> None:
        await self._send(protocol.error(ref=ref, code=code, message=message))

    @staticmethod
    def _handoff_id(body: dict[str, Any]) -> int:
        value = body.get("handoff_id")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ProtocolError("invalid", "`handoff_id` must be a positive integer.")
        return value

    async def on_ping(self, body: dict[str, Any], ref: str | None) -> None:
        await self._send(protocol.pong(ref=ref))

    async def on_open(self, body: dict[str, Any], ref: str | None) -> None:
        handoff_id = self._handoff_id(body)
        found = await _conversation(handoff_id=handoff_id)
        if found is None:
            raise ProtocolError("not_found", "There is no such conversation.")
        session_id = found["handoff"]["session_id"]
        if handoff_id not in self._opened:
            if len(self._opened) >= MAX_OPEN:
                oldest = next(iter(self._opened))
                await self.channel_layer.group_discard(
                    conversation_group(self._opened.pop(oldest)), self.channel_name
                )
            await self.channel_layer.group_add(conversation_group(session_id), self.channel_name)
            self._opened[handoff_id] = session_id
        await self._send({"type": "conversation", "ref": ref, **found})

    async def on_claim(self, body: dict[str, Any], ref: str | None) -> None:
        outcome = await _claim(handoff_id=self._handoff_id(body), agent=self.agent)
        await apublish(self.channel_layer, outcome.events)
        await self._send({"type": "claimed", "ref": ref, "handoff_id": outcome.handoff.pk})

    async def on_reply(self, body: dict[str, Any], ref: str | None) -> None:
        text = protocol.text_field(body, "text", maximum=services.MAX_REPLY, minimum=1)
        client_key = protocol.text_field(body, "client_key", maximum=64, minimum=1)
        outcome = await _reply(
            handoff_id=self._handoff_id(body), agent=self.agent, text=text, client_key=client_key
        )
        await apublish(self.channel_layer, outcome.events)
        message = next(e.message["message"] for e in outcome.events if "message" in e.message)
        await self._send(
            {"type": "reply_saved", "ref": ref, "client_key": client_key, "message": message}
        )

    async def on_typing(self, body: dict[str, Any], ref: str | None) -> None:
        session_id = self._opened.get(self._handoff_id(body))
        if session_id is None:
            raise ProtocolError("not_found", "Open the conversation first.")
        events = services.typing(
            session_id=session_id, agent=self.agent, active=bool(body.get("typing"))
        )
        await apublish(self.channel_layer, events)

    async def on_release(self, body: dict[str, Any], ref: str | None) -> None:
        outcome = await _release(handoff_id=self._handoff_id(body), agent=self.agent)
        await apublish(self.channel_layer, outcome.events)
        await self._send({"type": "released", "ref": ref, "handoff_id": outcome.handoff.pk})

    async def on_requeue(self, body: dict[str, Any], ref: str | None) -> None:
        outcome = await _requeue(handoff_id=self._handoff_id(body), agent=self.agent)
        await apublish(self.channel_layer, outcome.events)
        await self._send({"type": "requeued", "ref": ref, "handoff_id": outcome.handoff.pk})

    async def on_close(self, body: dict[str, Any], ref: str | None) -> None:
        outcome = await _close(handoff_id=self._handoff_id(body), agent=self.agent)
        await apublish(self.channel_layer, outcome.events)
        await self._send({"type": "closed", "ref": ref, "handoff_id": outcome.handoff.pk})

    async def on_save_note(self, body: dict[str, Any], ref: str | None) -> None:
        note_id = await _note(agent=self.agent, handoff_id=self._handoff_id(body), body=body)
        await self._send({"type": "note_saved", "ref": ref, "note_id": note_id})

    # --- group events -------------------------------------------------------------------------

    async def queue_item(self, event: dict[str, Any]) -> None:
        await self._send({"type": "queue_item", "item": event["item"]})

    async def agents_online(self, event: dict[str, Any]) -> None:
        await self._send({"type": "agents_online", "count": event["count"]})

    async def conversation_messages(self, event: dict[str, Any]) -> None:
        await self._send(
            {
                "type": "messages",
                "session_id": event["session_id"],
                "messages": event["messages"],
                "client_key": event.get("client_key"),
            }
        )
