"""The chat socket's side of live support (protocol 1.1): the ChatConsumer mixes this in.

Client messages `handoff_request`, `contact`, `handoff_cancel`; server messages
`handoff_offer`, `handoff_state`, `agent_message`, `agent_typing` (docs/protocol.md). Every
tab of a chat, on any process, listens to the chat's group; what an agent says is saved
first, so a tab that was away finds it in the transcript when it comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation

from apps.sessions import protocol
from apps.sessions.handoff import selectors, services
from apps.sessions.handoff.events import Event, apublish, chat_group
from apps.sessions.models import ChatSession, Handoff, Message
from apps.sessions.protocol import Envelope, ProtocolError
from hscjit.pools import on_pool

logger = logging.getLogger(__name__)

# Answers after which a person is offered, and the two-in-a-row rule's "unanswered".
_OFFER_AFTER = {Message.State.NOT_IN_MANUAL: "not_in_manual", Message.State.NO_MANUAL: "no_manual"}
_UNANSWERED = {Message.State.NOT_IN_MANUAL, Message.State.NO_MANUAL, Message.State.NO_PRODUCT}

_open_handoff = on_pool(selectors.open_handoff)
_customer_state = on_pool(selectors.customer_state)
_offer = on_pool(selectors.offer)
_request = on_pool(services.request)
_cancel = on_pool(services.cancel)
_save_contact = on_pool(services.save_contact)
_take_question = on_pool(services.take_question)
_customer_messages = on_pool(services.customer_messages)


def _last_answer_states(*, session_id: Any, count: int) -> list[str]:
    return list(
        Message.objects.filter(session_id=session_id, role=Message.Role.ANSWER)
        .order_by("-created_at", "-pk")
        .values_list("state", flat=True)[:count]
    )


_last_states = on_pool(_last_answer_states)


class HandoffMixin:
    """Needs the consumer's `chat` (as `selectors.session_for_socket` reads it), `channel_layer`,
    `channel_name`, `send_json`."""

    chat: ChatSession | None
    channel_layer: Any
    channel_name: str
    send_json: Callable[[dict[str, Any]], Awaitable[None]]

    async def handoff_connect(self) -> None:
        """Listen for agents, and tell a (re)connecting tab where its handoff stands."""
        assert self.chat is not None
        await self.channel_layer.group_add(chat_group(self.chat.pk), self.channel_name)
        # The socket's session says whether it has one (selectors.session_for_socket).
        if not self.chat.has_open_handoff:
            return
        handoff = await _open_handoff(session_id=self.chat.pk)
        if handoff is not None:
            await self.send_json(protocol.with_ref(await _customer_state(handoff=handoff), None))

    async def handoff_disconnect(self) -> None:
        if self.chat is not None:
            await self.channel_layer.group_discard(chat_group(self.chat.pk), self.channel_name)

    def _language(self, envelope: Envelope | None = None) -> str:
        lang = envelope.body.get("lang") if envelope is not None else None
        if isinstance(lang, str) and 0 < len(lang) <= 8:
            return lang
        # The chat's own language where the session keeps one (the i18n work), else the active.
        return (getattr(self.chat, "language", "") or translation.get_language() or "")[:8]

    async def _publish(self, outcome: services.Outcome, ref: str | None) -> None:
        """Publish to every tab and console; this tab gets the state with its ref at once
        (and skips the copy the group brings it)."""
        events = [
            Event(e.group, {**e.message, "origin": self.channel_name})
            if e.message["type"] == "handoff.state"
            else e
            for e in outcome.events
        ]
        await apublish(self.channel_layer, events)
        for event in events:
            if event.message["type"] == "handoff.state":
                await self.send_json(protocol.with_ref(event.message["state"], ref))

    # --- client messages -----------------------------------------------------------------

    async def on_handoff_request(self, envelope: Envelope) -> None:
        reason = envelope.body.get("reason")
        reason = reason if isinstance(reason, str) else Handoff.Reason.ASKED
        assert self.chat is not None
        outcome = await _request(
            session=self.chat, reason=reason, language=self._language(envelope)
        )
        await self._publish(outcome, envelope.ref)

    async def on_handoff_cancel(self, envelope: Envelope) -> None:
        assert self.chat is not None
        try:
            outcome = await _cancel(session=self.chat)
        except services.HandoffError as error:
            raise ProtocolError("not_found", error.message) from None
        await self._publish(outcome, envelope.ref)

    async def on_contact(self, envelope: Envelope) -> None:
        contact = protocol.text_field(
            envelope.body, "contact", maximum=services.MAX_CONTACT, minimum=1
        )
        text = protocol.optional_text_field(envelope.body, "text", maximum=services.MAX_NOTE)
        assert self.chat is not None
        try:
            outcome = await _save_contact(
                session=self.chat, contact=contact, text=text or "", language=self._language()
            )
        except ValidationError as error:
            raise ProtocolError("invalid", " ".join(error.messages)) from None
        await self._publish(outcome, envelope.ref)

    # --- hooks of the ask flow -----------------------------------------------------------

    async def handoff_takes_question(self, text: str, ref: str | None) -> bool:
        """Whether a person, not the bot, takes this question (and it has been answered)."""
        assert self.chat is not None
        taken = await _take_question(session=self.chat, text=text, language=self._language())
        if taken is None:
            return False
        await self.send_json(
            protocol.answer_start(ref=ref, question_id=taken.question_id, product=None)
        )
        if taken.answer is None:
            await apublish(self.channel_layer, taken.outcome.events)
            await self.send_json(_handed_off_end(ref, message_id=None, text=""))
            return True
        answer = taken.answer
        await self.send_json(protocol.answer_delta(ref=ref, text=answer.text))
        await self.send_json(_handed_off_end(ref, message_id=answer.pk, text=answer.text))
        await self._publish(taken.outcome, None)
        return True

    async def handoff_after_answer(
        self, ended: dict[str, Any] | None, question_id: int | None
    ) -> None:
        """After the bot answered: show it to the agents of an open handoff, or offer one."""
        if ended is None or self.chat is None:
            return
        handoff = await _open_handoff(session_id=self.chat.pk)
        if handoff is not None:
            ids = [i for i in (question_id, ended.get("message_id")) if isinstance(i, int)]
            await apublish(
                self.channel_layer, await _customer_messages(session_id=self.chat.pk, ids=ids)
            )
            return
        reason = _OFFER_AFTER.get(ended.get("state"))  # type: ignore[call-overload]
        if reason is None:
            states = await _last_states(session_id=self.chat.pk, count=2)
            if len(states) == 2 and all(state in _UNANSWERED for state in states):
                reason = Handoff.Reason.UNANSWERED
        if reason is not None:
            offer = await _offer(reason=reason, lang=self._language())
            await self.send_json(protocol.with_ref(offer, ended.get("ref")))

    async def handoff_after_feedback(self, rating: int, ref: str | None) -> None:
        if rating != -1 or self.chat is None:
            return
        if await _open_handoff(session_id=self.chat.pk) is None:
            offer = await _offer(reason=Handoff.Reason.THUMBS_DOWN, lang=self._language())
            await self.send_json(protocol.with_ref(offer, ref))

    # --- group events (from the console, any process) --------------------------------------

    async def handoff_state(self, event: dict[str, Any]) -> None:
        if event.get("origin") == self.channel_name:
            return
        await self.send_json(protocol.with_ref(event["state"], None))

    async def agent_message(self, event: dict[str, Any]) -> None:
        await self.send_json(
            protocol.agent_message(handoff_id=event["handoff_id"], message=event["message"])
        )

    async def agent_typing(self, event: dict[str, Any]) -> None:
        await self.send_json(
            protocol.agent_typing(typing=bool(event["typing"]), agent=event["agent"])
        )


def _handed_off_end(ref: str | None, *, message_id: int | None, text: str) -> protocol.Outgoing:
    """The end of an answer a person takes: no engine wrote it, nothing is cited."""
    return protocol.answer_end(
        ref=ref,
        message_id=message_id,
        text=text,
        state=Message.State.HANDED_OFF.value,
        citations=[],
        engine="person",
        first_delta_ms=0,
        total_ms=0,
    )
