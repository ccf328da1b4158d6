"""The `ask` flow of PROTOCOL.md, and feedback on answers.

`run_ask` resolves the product (named in the question, else the conversation's), has the
manuals' answer service answer from its documents with the previous turn as context, and
streams the answer through `send`; the question and the answer are saved as messages of the
session whatever happens to the client. The consumer and the no-JavaScript view both call it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from apps.manuals.answers.types import Answer
from apps.manuals.retrieval.text import detect_language
from apps.manuals.selectors import card_with_documents
from apps.manuals.services.answering import Asked, answer_question
from apps.products.models import Product
from apps.products.prediction import CONFIDENT_SCORE
from apps.products.prediction import get_index as prediction_index
from apps.sessions import protocol
from apps.sessions.models import ChatSession, Feedback, Message
from apps.sessions.selectors import active_product, active_product_by_pk, product_cards
from apps.sessions.services import LANGUAGE_CODES, set_focus
from apps.sessions.shop_questions import name_only_answer, shop_answer
from apps.sessions.texts import NO_PRODUCT_PIECES, NO_PRODUCT_UNMATCHED_PIECES, NO_SUCH_PRODUCT
from hscjit.logging_context import log_context
from hscjit.metrics import ANSWER_FIRST_DELTA, ANSWER_TOTAL, ANSWERS
from hscjit.pools import on_pool

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
NO_PRODUCT = Message.State.NO_PRODUCT.value
_HEBREW_LETTER = re.compile(r"[\u05d0-\u05ea]")
# Words that tell a language: letters only, three or more (model codes like LX-88 do not).
_WORDS = re.compile(r"(?<![\w-])[A-Za-z\u05d0-\u05ea]{3,}(?![\w-])")
# Answers still being saved after their client went away (a task needs a strong reference).
_unfinished: set[asyncio.Task[None]] = set()


@dataclass
class _Stream:
    """Sends to the client, and keeps going (silently) once the client is gone."""

    send: Send
    ref: str | None
    started: float = field(default_factory=time.perf_counter)
    first_delta_ms: int | None = None
    gone: bool = False

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self.started) * 1000)

    async def message(self, message: protocol.Outgoing) -> None:
        if self.gone:
            return
        try:
            await self.send(message)
        except Exception:  # a closed socket must not stop the answer from being saved
            self.gone = True
            logger.info("client went away during an answer; finishing it anyway")

    async def delta(self, text: str) -> None:
        if self.first_delta_ms is None:
            self.first_delta_ms = self.elapsed_ms()
        await self.message(protocol.answer_delta(ref=self.ref, text=text))


async def run_ask(
    *,
    session: ChatSession,
    text: str,
    product_id: str | None,
    ref: str | None,
    send: Send,
    lang: str | None = None,
) -> None:
    """Answer `text` for the session, sending answer_start, deltas and answer_end.

    The answer is in `lang` when the client asked for a language we serve, else in the
    question's language (see `answer_language`)."""
    out = _Stream(send=send, ref=ref)
    work = asyncio.ensure_future(_ask_in(lang, session, text, product_id, out))
    _unfinished.add(work)
    work.add_done_callback(_unfinished.discard)
    # Shielded: when the consumer is cancelled (the socket closed), the answer still gets saved.
    await asyncio.shield(work)


def answer_language(*, text: str, lang: str | None, session_language: str) -> str:
    """The language to answer in: the one the client asked for, else the question's own;
    a question with no words to tell by ("RD-88?") is answered in the chat's language."""
    if lang in LANGUAGE_CODES:
        return lang
    if _HEBREW_LETTER.search(text):
        return detect_language(text)
    return session_language if len(_WORDS.findall(text)) < 2 else "en"


async def _ask_in(
    lang: str | None, session: ChatSession, text: str, product_id: str | None, out: _Stream
) -> None:
    # The sentences this module writes follow the answer's language; so does the engine.
    language = answer_language(text=text, lang=lang, session_language=session.language)
    with translation.override(language):
        await _ask(session, text, product_id, out, lang, language)


async def _ask(
    session: ChatSession,
    text: str,
    product_id: str | None,
    out: _Stream,
    lang: str | None,
    language: str,
) -> None:
    with log_context(session_id=session.pk, product_id=product_id):
        candidates: list[Any] = []
        if product_id:
            product = await on_pool(active_product)(catalog_id=product_id)
            if product is None:
                await out.message(
                    protocol.error(ref=out.ref, code="not_found", message=gettext(NO_SUCH_PRODUCT))
                )
                return
        else:
            product, candidates = await on_pool(_asked_product)(session, text)
        card = await on_pool(card_with_documents)(product=product) if product else None
        context = await on_pool(_conversation_context)(session, product)
        reply = await on_pool(_read_reply)(session, product, text) if product else None
        question = await on_pool(_save_question)(session, text, product)
        # "beads" after "which product do you mean?" answers the question before it, in that
        # question's language: the name alone has no words to tell it by.
        asked = reply.waiting if reply is not None and reply.waiting is not None else text
        if asked != text:
            language = answer_language(text=asked, lang=lang, session_language=session.language)
        await out.message(protocol.answer_start(ref=out.ref, question_id=question.pk, product=card))
        with translation.override(language), log_context(product_id=product and product.catalog_id):
            if reply is not None and reply.waiting is None:
                answer = await _say(out, name_only_answer(product))
            else:
                answer = await _answer(
                    product, asked, context, out, language, suggested=bool(candidates)
                )
        saved = await on_pool(_save_answer)(
            session, question, product, answer, out.first_delta_ms, out.elapsed_ms()
        )
        total_ms = out.elapsed_ms()
        first_ms = out.first_delta_ms if out.first_delta_ms is not None else total_ms
        await out.message(
            protocol.answer_end(
                ref=out.ref,
                message_id=saved.pk,
                text=answer.text,
                state=answer.state,
                citations=answer.citations,
                engine=answer.engine,
                first_delta_ms=first_ms,
                total_ms=total_ms,
                lang=language,
            )
        )
        ANSWER_FIRST_DELTA.observe(first_ms / 1000)
        ANSWER_TOTAL.observe(total_ms / 1000)
        ANSWERS.labels(state=answer.state, engine=answer.engine).inc()
        if answer.state == NO_PRODUCT:
            await _send_candidates(text, candidates, out)


async def _answer(
    product: Product | None,
    text: str,
    context: str,
    out: _Stream,
    language: str,
    *,
    suggested: bool,
) -> Answer:
    shop = shop_answer(product, text)
    if shop is not None:
        return await _say(out, shop)
    if product is None:
        # "Pick it from the suggestions" only when there are suggestions to pick from.
        sentences = NO_PRODUCT_PIECES if suggested else NO_PRODUCT_UNMATCHED_PIECES
        pieces = [gettext(piece) for piece in sentences]
        for piece in pieces:
            await out.delta(piece)
        return Answer(state=NO_PRODUCT, pieces=pieces)

    async def push_status(status: dict[str, Any]) -> None:
        pushed = protocol.manual_status(status, product_id=status["product_id"])
        await out.message(protocol.with_ref(pushed, out.ref))

    return await answer_question(
        asked=Asked(product=product, text=text, context=context, lang=language),
        emit=out.delta,
        push_status=push_status,
    )


async def _say(out: _Stream, answer: Answer) -> Answer:
    for piece in answer.pieces:
        await out.delta(piece)
    return answer


async def _send_candidates(text: str, candidates: list[Any], out: _Stream) -> None:
    cards = await on_pool(product_cards)(pks=[c.pk for c in candidates])
    await out.message(
        protocol.prediction(ref=out.ref, text=text, candidates=candidates, cards=cards, took_ms=0)
    )


def _asked_product(session: ChatSession, text: str) -> tuple[Product | None, list[Any]]:
    """The product a question names confidently, else the one the conversation is about.

    Not the conversation's when the question names another product about as strongly as
    a confident prediction would ("is beads louder than plaits" with the Plaits in focus):
    the customer is asked which one is meant. Nor when it names another brand ("roland td17
    how to connect" while the Plaits is in focus), even of a model the catalog does not list.
    """
    focus = session.product_id
    index = prediction_index()
    # Beside the focus only what a word of the text names counts: "and which knob sends cc"
    # about the N32B does not name the Mackie Big Knob (PredictionIndex.predict).
    named = index.predict(text, limit=5, beside_focus=focus is not None)
    product = _confident_product(named)
    named_another = any(c.pk != focus and c.confidence >= CONFIDENT_SCORE for c in named) or (
        focus is not None and index.names_other_brand(text, focus)
    )
    if product is None and focus is not None and not named_another:
        product = active_product_by_pk(pk=focus)
    if named or product is not None:
        return product, named
    # The chips offered with a no_product answer: a brand alone still narrows it down.
    return None, index.suggest(text, limit=5)


@dataclass(frozen=True)
class _Reply:
    """A message that only names the product: the question the last answer asked "which
    product do you mean?" of, if it did."""

    waiting: str | None


def _read_reply(session: ChatSession, product: Product, text: str) -> _Reply | None:
    """None when `text` is a question of its own, not only `product`'s name."""
    if not prediction_index().only_names(text, product.pk):
        return None
    last = _last_answer(session)
    if last is None or last.state != NO_PRODUCT or last.question is None:
        return _Reply(waiting=None)
    return _Reply(waiting=last.question.text)


def _last_answer(session: ChatSession) -> Message | None:
    return (
        Message.objects.filter(session=session, role=Message.Role.ANSWER)
        .select_related("question")
        .order_by("-created_at", "-pk")
        .first()
    )


def _conversation_context(session: ChatSession, product: Product | None) -> str:
    """The previous question and its answer, when they were about the same product."""
    if product is None:
        return ""
    last = _last_answer(session)
    if last is None or last.product_id != product.pk or last.question is None:
        return ""
    return f"{last.question.text}\n{last.text}"


def _confident_product(candidates: list[Any]) -> Product | None:
    if not candidates or not candidates[0].confident:
        return None
    return (
        Product.objects.filter(pk=candidates[0].pk, is_active=True)
        .select_related("brand", "family")
        .first()
    )


def _save_question(session: ChatSession, text: str, product: Product | None) -> Message:
    """The question, and the product it is about as the conversation's focus from now on."""
    if product is not None and session.product_id != product.pk:
        session.product_id = product.pk
        set_focus(session_id=session.pk, product_pk=product.pk)
    return Message.objects.create(
        session=session, role=Message.Role.QUESTION, text=text, product=product
    )


def _save_answer(
    session: ChatSession,
    question: Message,
    product: Product | None,
    answer: Answer,
    first_delta_ms: int | None,
    total_ms: int,
) -> Message:
    return Message.objects.create(
        session=session,
        role=Message.Role.ANSWER,
        text=answer.text,
        product=product,
        question=question,
        state=answer.state,
        citations=answer.citations,
        engine=answer.engine,
        first_delta_ms=first_delta_ms,
        total_ms=total_ms,
    )


async def save_feedback(*, session: ChatSession, message_id: int, rating: int, comment: str) -> int:
    """Store (or replace) the rating of an answer of this session; LookupError otherwise."""
    if rating not in (1, -1):
        raise ValueError("rating must be 1 or -1")
    if len(comment) > protocol.MAX_COMMENT:
        raise ValueError(f"comment must be at most {protocol.MAX_COMMENT} characters")
    return await on_pool(_save_feedback)(session.pk, message_id, rating, comment)


def _save_feedback(session_id: Any, message_id: int, rating: int, comment: str) -> int:
    message = Message.objects.filter(
        pk=message_id, session_id=session_id, role=Message.Role.ANSWER
    ).first()
    if message is None:
        raise LookupError(f"message {message_id} is not an answer of this session")
    Feedback.objects.update_or_create(
        message=message, defaults={"rating": rating, "comment": comment}
    )
    return message.pk
