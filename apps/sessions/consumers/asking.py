"""The chat socket's questions and feedback (PROTOCOL.md `ask`, `feedback`).

One question at a time: the answer streams from a task, so the socket keeps reading (pings,
typing) meanwhile, and it takes the next question once `answer_end` is out. After an answer
the socket follows the product it was about, and live support may step in (HandoffMixin).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django import db

from apps.sessions import protocol
from apps.sessions.consumers.base import LAYER_ERRORS
from apps.sessions.consumers.tracked import TrackedTasks
from apps.sessions.consumers.typing_focus import TypingFocus
from apps.sessions.models import ChatSession
from apps.sessions.protocol import Envelope, ProtocolError

logger = logging.getLogger(__name__)


class AskMixin:
    """Needs the consumer's `chat`, `_typing`, `_tasks`, `send_json`, `send_error` and the
    hooks of HandoffMixin."""

    chat: ChatSession | None
    _typing: TypingFocus
    _tasks: TrackedTasks
    send_json: Callable[[dict[str, Any]], Awaitable[None]]
    send_error: Callable[[str, str, str | None], Awaitable[None]]
    handoff_takes_question: Callable[[str, str | None], Awaitable[bool]]
    handoff_after_answer: Callable[[dict[str, Any] | None, int | None], Awaitable[None]]
    handoff_after_feedback: Callable[[int, str | None], Awaitable[None]]
    # Set while a question is answered, until its answer_end is out.
    _answering = False

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
        # Without a product_id the question is about the focus (PROTOCOL.md), which is saved
        # as the session's product here: the answer service decides from it whether the
        # question is about it or names another product (`answering._asked_product`), and a
        # reload after it must show that product.
        await self._typing.save()
        # A task, so this socket keeps reading (pings, typing) while the answer streams.
        self._answering = True
        self._tasks.start(self._ask(text, product_id, envelope.ref, lang))

    async def _ask(
        self, text: str, product_id: str | None, ref: str | None, lang: str | None = None
    ) -> None:
        # Imported on first use: answering brings in the retrieval stack.
        from apps.sessions import answering

        assert self.chat is not None
        said: dict[str, dict[str, Any]] = {}

        def answered_product() -> tuple[int, dict[str, Any]] | None:
            """The product the answer made the conversation's (its pk and card), if any."""
            product = (said.get("answer_start") or {}).get("product")
            if product and self.chat is not None and self.chat.product_id is not None:
                return self.chat.product_id, product
            return None

        async def send(message: dict[str, Any]) -> None:
            said[message["type"]] = message
            if message["type"] == "answer_end":
                if (answered := answered_product()) is not None:
                    # A follow-up that names no product, sent the moment this answer ends, is
                    # about the answer's.
                    self._typing.point_at(*answered)
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
            if (answered := answered_product()) is not None:
                # The socket follows the documents of the answer's product.
                try:
                    await self._typing.take(*answered)
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
        await self.send_json(protocol.feedback_saved(ref=envelope.ref, message_id=message_id))
        await self.handoff_after_feedback(rating, envelope.ref)
