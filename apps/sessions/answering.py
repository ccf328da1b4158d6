"""The `ask` flow of PROTOCOL.md, and feedback on answers.

`run_ask` resolves the product, waits (bounded) for its manual, answers from it and streams
the answer through `send`; the question and the answer are saved as messages of the session
whatever happens to the client. The consumer and the no-JavaScript view both call it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from apps.manuals import retrieval
from apps.manuals.answers import extractive, llm
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, Answer, ManualInfo
from apps.manuals.models import Manual
from apps.manuals.selectors import manual_status_payload
from apps.manuals.services import request_prefetch
from apps.products.models import Product
from apps.products.prediction import get_index as prediction_index
from apps.products.selectors import product_card
from apps.sessions import protocol
from apps.sessions.models import ChatSession, Feedback, Message
from apps.sessions.selectors import active_product, product_cards
from hscjit import cache
from hscjit.logging_context import log_context
from hscjit.metrics import ANSWER_FIRST_DELTA, ANSWER_TOTAL, ANSWERS

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
NO_MANUAL = Message.State.NO_MANUAL.value
NO_PRODUCT = Message.State.NO_PRODUCT.value
ANSWER_CACHE_PREFIX = "answer"
_POLL_SECONDS = 0.25
_CACHEABLE = {ANSWERED, NOT_IN_MANUAL}
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

    async def message(self, kind: str, **fields: Any) -> None:
        if self.gone:
            return
        try:
            await self.send({"type": kind, "ref": self.ref, **fields})
        except Exception:  # a closed socket must not stop the answer from being saved
            self.gone = True
            logger.info("client went away during an answer; finishing it anyway")

    async def delta(self, text: str) -> None:
        if self.first_delta_ms is None:
            self.first_delta_ms = self.elapsed_ms()
        await self.message("answer_delta", text=text)


async def run_ask(
    *,
    session: ChatSession,
    text: str,
    product_id: str | None,
    ref: str | None,
    send: Send,
) -> None:
    """Answer `text` for the session, sending answer_start, deltas and answer_end."""
    work = asyncio.ensure_future(_ask(session, text, product_id, _Stream(send=send, ref=ref)))
    _unfinished.add(work)
    work.add_done_callback(_unfinished.discard)
    # Shielded: when the consumer is cancelled (the socket closed), the answer still gets saved.
    await asyncio.shield(work)


async def _ask(session: ChatSession, text: str, product_id: str | None, out: _Stream) -> None:
    with log_context(session_id=session.pk, product_id=product_id):
        candidates: list[Any] = []
        if product_id:
            product = await database_sync_to_async(active_product)(catalog_id=product_id)
            if product is None:
                await out.message(
                    "error", code="not_found", message="There is no such product in the catalog."
                )
                return
        else:
            product, candidates = await database_sync_to_async(_predicted_product)(text)
        card = await database_sync_to_async(product_card)(product=product) if product else None
        question = await database_sync_to_async(_save_question)(session, text, product)
        await out.message("answer_start", question_id=question.pk, product=card)
        with log_context(product_id=product.catalog_id if product else None):
            answer = await _answer(product, text, out)
        reply = await database_sync_to_async(_save_answer)(
            session, question, product, answer, out.first_delta_ms, out.elapsed_ms()
        )
        total_ms = out.elapsed_ms()
        first_ms = out.first_delta_ms if out.first_delta_ms is not None else total_ms
        await out.message(
            "answer_end",
            message_id=reply.pk,
            text=answer.text,
            state=answer.state,
            citations=answer.citations,
            engine=answer.engine,
            took_ms={"first_delta": first_ms, "total": total_ms},
        )
        ANSWER_FIRST_DELTA.observe(first_ms / 1000)
        ANSWER_TOTAL.observe(total_ms / 1000)
        ANSWERS.labels(state=answer.state, engine=answer.engine).inc()
        if answer.state == NO_PRODUCT:
            await _send_candidates(text, candidates, out)


async def _answer(product: Product | None, text: str, out: _Stream) -> Answer:
    if product is None:
        return await _say(
            out,
            NO_PRODUCT,
            "I could not tell which product you mean. ",
            "Please pick it from the suggestions, or name its brand and model.",
        )
    if product.manual_id is None:
        return await _no_manual(out, product, "the catalog lists no manual for it")
    manual = await _wait_for_manual(product, out)
    if manual.status != Manual.Status.READY:
        if manual.status == Manual.Status.FAILED:
            reason = (manual.error or "its manual could not be fetched").rstrip(".")
        else:
            reason = "its manual is still being fetched; please ask again in a minute"
        return await _no_manual(out, product, reason)
    info = ManualInfo(
        id=manual.pk,
        version=manual.version,
        title=manual.title or f"the {product.name} manual",
        kind=manual.kind,
        source_url=manual.source_url,
    )
    key = _cache_key(info, text)
    cached = await database_sync_to_async(cache.get)(key)
    if isinstance(cached, Answer):
        for piece in cached.pieces:
            await out.delta(piece)
        return cached
    exclude = set(retrieval.tokens(f"{product.name} {product.brand.name} {product.catalog_id}"))
    index, found = await database_sync_to_async(_retrieve)(info, text, exclude)
    if llm.enabled() and found.state == ANSWERED:
        hits = extractive.retrieve(index, text, exclude=exclude)
        answer = await llm.answer(
            manual=info, index=index, hits=hits, question=text, fallback=found, emit=out.delta
        )
    else:
        answer = found
        for piece in answer.pieces:
            await out.delta(piece)
    # A fallback after an endpoint failure is not what the next asker should get.
    if answer.state in _CACHEABLE and answer.engine == _engine_name():
        await database_sync_to_async(cache.set)(key, answer, settings.ANSWER_CACHE_SECONDS)
    return answer


async def _say(out: _Stream, state: str, *pieces: str) -> Answer:
    for piece in pieces:
        await out.delta(piece)
    return Answer(state=state, pieces=list(pieces))


async def _no_manual(out: _Stream, product: Product, reason: str) -> Answer:
    known = f"What the catalog knows: {product.name} by {product.brand.name}"
    known += f", in {product.category}." if product.category else "."
    pieces = [f"I cannot answer from the manual of {product.name}: {reason}. ", known]
    if product.product_url:
        pieces.append(f" Product page: {product.product_url}")
    return await _say(out, NO_MANUAL, *pieces)


async def _wait_for_manual(product: Product, out: _Stream) -> Manual:
    """The product's manual once ready or failed, or as it stands when the wait runs out."""
    manual = await database_sync_to_async(Manual.objects.get)(pk=product.manual_id)
    if manual.status == Manual.Status.READY:
        return manual
    await database_sync_to_async(request_prefetch)(manual_id=manual.pk)
    deadline = time.monotonic() + settings.ANSWER_MANUAL_WAIT_SECONDS
    last: dict[str, Any] | None = None
    while True:
        status = manual_status_payload(manual=manual)
        if status != last:
            await out.message("manual_status", **{**status, "product_id": product.catalog_id})
            last = status
        remaining = deadline - time.monotonic()
        if manual.status in {Manual.Status.READY, Manual.Status.FAILED} or remaining <= 0:
            return manual
        await asyncio.sleep(min(_POLL_SECONDS, remaining))
        manual = await database_sync_to_async(Manual.objects.get)(pk=manual.pk)


async def _send_candidates(text: str, candidates: list[Any], out: _Stream) -> None:
    cards = await database_sync_to_async(product_cards)(pks=[c.pk for c in candidates])
    await out.message(
        "prediction",
        text=text,
        candidates=[
            {"product": cards[c.pk], "confidence": c.confidence, "confident": c.confident}
            for c in candidates
            if c.pk in cards
        ],
        took_ms=0,
    )


def _engine_name() -> str:
    return "llm" if llm.enabled() else "extractive"


def normalise_question(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s.-]", " ", text.lower()).split()).strip(" .")


def _cache_key(manual: ManualInfo, text: str) -> str:
    digest = hashlib.sha256(normalise_question(text).encode()).hexdigest()[:32]
    return f"{ANSWER_CACHE_PREFIX}:{manual.id}:{manual.version}:{_engine_name()}:{digest}"


def _retrieve(
    manual: ManualInfo, text: str, exclude: set[str]
) -> tuple[retrieval.ManualIndex, Answer]:
    index = retrieval.get_index(manual_id=manual.id, version=manual.version)
    return index, extractive.compose(manual=manual, index=index, question=text, exclude=exclude)


def _predicted_product(text: str) -> tuple[Product | None, list[Any]]:
    candidates = prediction_index().predict(text, limit=5)
    if candidates and candidates[0].confident:
        product = (
            Product.objects.filter(pk=candidates[0].pk, is_active=True)
            .select_related("brand", "manual")
            .first()
        )
        if product is not None:
            return product, candidates
    return None, candidates


def _save_question(session: ChatSession, text: str, product: Product | None) -> Message:
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
    return await database_sync_to_async(_save_feedback)(session.pk, message_id, rating, comment)


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
