"""Answering a question from a product's documents: the one answer service.

`answer_question` waits (bounded) for the product's documents, looks in the answer cache,
ranks the passages of every ready document with the conversation as context, and streams
the answer of the extractive engine or the LLM through `emit`. The chat app's ask service
(socket and no-JavaScript form alike) calls it and writes the messages.

Ranking and the question's embedding are CPU work: they run on this module's own small
executor, never on the event loop nor on the thread-sensitive executor every socket shares.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from django import db
from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from apps.manuals.answers import extractive, llm
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, Answer, ManualInfo
from apps.manuals.models import Manual
from apps.manuals.retrieval import Hit, ManualIndex, embed_question, get_index
from apps.manuals.selectors import documents_of, manual_status_payload
from apps.manuals.services import staff_notes
from apps.manuals.services.discovery import why_no_documents
from apps.manuals.services.queueing import request_prefetch
from apps.products.models import Product
from apps.products.selectors import product_names
from hscjit import cache
from hscjit.pools import on_pool

NO_MANUAL = "no_manual"
ANSWER_CACHE_PREFIX = "answer"
_POLL_SECONDS = 0.25
_CACHEABLE = {ANSWERED, NOT_IN_MANUAL}
_SETTLED = {Manual.Status.READY, Manual.Status.FAILED}
T = TypeVar("T")

Emit = Callable[[str], Awaitable[None]]
StatusPush = Callable[[dict[str, Any]], Awaitable[None]]

_ranking = ThreadPoolExecutor(
    max_workers=settings.ANSWER_RANKING_THREADS, thread_name_prefix="answer-ranking"
)


@dataclass(frozen=True)
class Asked:
    """A question about one product, with what the conversation said just before it: the
    previous question, a newline, then its answer (or nothing)."""

    product: Product
    text: str
    context: str = ""
    lang: str | None = None


def _closing(function: Callable[..., T], kwargs: dict[str, Any]) -> T:
    try:
        return function(**kwargs)
    finally:
        # Loading a stored index reads the database from this executor's threads.
        db.connection.close()


async def _ranked(function: Callable[..., T], /, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_ranking, partial(_closing, function, kwargs))


async def answer_question(*, asked: Asked, emit: Emit, push_status: StatusPush) -> Answer:
    """The answer to `asked`, its pieces already passed to `emit` as they were made."""
    # Approved staff notes: the shop's own information, used where the manual is silent.
    shop = await staff_notes.for_question(product=asked.product, text=asked.text, lang=asked.lang)
    documents = await on_pool(documents_of)(product=asked.product)
    if not documents:
        # Without a document, say why: nothing in the catalog, or what discovery found.
        reason = await on_pool(why_no_documents)(product=asked.product)
        return await _say(emit, shop.instead() or no_manual(asked.product, reason, documents=False))
    documents = await _wait_for_documents(asked.product, documents, push_status)
    ready = [manual for manual in documents if manual.status == Manual.Status.READY]
    if not ready:
        return await _say(
            emit,
            shop.instead()
            or no_manual(asked.product, _not_ready_reason(documents), documents=True),
        )
    infos = [_info(manual, asked.product) for manual in ready]
    key = cache_key(infos, asked) + shop.cache_part()
    cached = await on_pool(cache.get)(key)
    if isinstance(cached, Answer):
        for piece in cached.pieces:
            await emit(piece)
        return cached
    names = await on_pool(product_names)(product=asked.product)
    grounded = await _ranked(_ground, infos=infos, asked=asked, names=names)
    found = grounded.answer
    if found.state != ANSWERED:
        found = shop.instead() or found
    if llm.enabled() and found.state == ANSWERED and grounded.hits:
        answer = await llm.answer(
            documents=grounded.documents,
            hits=grounded.hits,
            question=asked.text,
            fallback=found,
            emit=emit,
            lang=asked.lang,
        )
    else:
        answer = await _say(emit, found)
    if answer.state == ANSWERED:
        for piece in shop.beside(answer):
            await emit(piece)
    # A fallback after an endpoint failure is not what the next asker should get.
    if answer.state in _CACHEABLE and answer.engine == engine_name():
        await on_pool(cache.set)(key, answer, settings.ANSWER_CACHE_SECONDS)
    return answer


@dataclass(frozen=True)
class _Grounded:
    documents: list[tuple[ManualInfo, ManualIndex]]
    answer: Answer
    hits: list[Hit]


def _ground(*, infos: list[ManualInfo], asked: Asked, names: list[str]) -> _Grounded:
    """The extractive answer across every ready document, and the passages an LLM gets."""
    documents = [(info, get_index(manual_id=info.id, version=info.version)) for info in infos]
    query = {
        "question": asked.text,
        "context": asked.context,
        "exclude": names,
        "query_vector": embed_question(asked.text, exclude=names),
        "lang": asked.lang,
    }
    found = extractive.compose(documents=documents, **query)
    hits = extractive.retrieve(documents, **query) if llm.enabled() else []
    return _Grounded(documents=documents, answer=found, hits=hits)


def _info(manual: Manual, product: Product) -> ManualInfo:
    return ManualInfo(
        id=manual.pk,
        version=manual.version,
        title=manual.title or f"the {product.name} manual",
        kind=manual.kind,
        source_url=manual.source_url,
    )


async def _say(emit: Emit, answer: Answer) -> Answer:
    for piece in answer.pieces:
        await emit(piece)
    return answer


def no_manual(product: Product, reason: str, *, documents: bool) -> Answer:
    # Reasons that are sentences of ours are in the catalogue; a vendor's own text is not.
    pieces = [
        gettext("I cannot answer from the manual of %(product)s: %(reason)s.\n")
        % {"product": product.name, "reason": gettext(reason)}
    ]
    # What the customer can do next (not what the catalog says they already know).
    if product.product_url:
        first = gettext(
            "What you can do: open its product page for its details and downloads (%(url)s); "
        ) % {"url": product.product_url}
    elif product.brand.website:
        first = gettext("What you can do: look for the manual on %(brand)s's website (%(url)s); ")
        first %= {"brand": product.brand.name, "url": product.brand.website}
    else:
        first = gettext("What you can do: look for the manual on %(brand)s's website; ") % {
            "brand": product.brand.name
        }
    pieces.append(first)
    # The chat's product card lists the product's documents, when it has any.
    if documents:
        pieces.append(
            gettext(
                "open a document listed on the product card, if there is one; "
                "or ask our staff, who can find the manual or answer you themselves."
            )
        )
    else:
        pieces.append(
            gettext("or ask our staff, who can find the manual or answer you themselves.")
        )
    return Answer(state=NO_MANUAL, pieces=pieces)


def _not_ready_reason(documents: list[Manual]) -> str:
    if all(manual.status == Manual.Status.FAILED for manual in documents):
        return (documents[0].error or gettext_noop("its manual could not be fetched")).rstrip(".")
    return gettext_noop("its manual is still being fetched; please ask again in a minute")


async def _wait_for_documents(
    product: Product, documents: list[Manual], push_status: StatusPush
) -> list[Manual]:
    """The documents once each is ready or failed, or as they stand when the wait runs out.

    A ready document does not wait for the others to finish being fetched: the answer uses
    what is ready now, and the page shows the rest arriving.
    """
    if any(manual.status == Manual.Status.READY for manual in documents):
        pending = [m for m in documents if m.status not in _SETTLED]
        for manual in pending:
            await on_pool(request_prefetch)(manual_id=manual.pk)
        return documents
    for manual in documents:
        await on_pool(request_prefetch)(manual_id=manual.pk)
    deadline = time.monotonic() + settings.ANSWER_MANUAL_WAIT_SECONDS
    last: dict[int, dict[str, Any]] = {}
    pks = [manual.pk for manual in documents]
    while True:
        for manual in documents:
            status = manual_status_payload(manual=manual)
            if status != last.get(manual.pk):
                await push_status({**status, "product_id": product.catalog_id})
                last[manual.pk] = status
        remaining = deadline - time.monotonic()
        settled = all(manual.status in _SETTLED for manual in documents)
        if settled or remaining <= 0 or any(m.status == Manual.Status.READY for m in documents):
            return documents
        await asyncio.sleep(min(_POLL_SECONDS, remaining))
        fresh = await on_pool(_manuals_by_pk)(pks=pks)
        documents = [fresh.get(pk, manual) for pk, manual in zip(pks, documents, strict=True)]


def _manuals_by_pk(*, pks: list[int]) -> dict[int, Manual]:
    return Manual.objects.in_bulk(pks)


def engine_name() -> str:
    return "llm" if llm.enabled() else "extractive"


def normalise_question(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s.-]", " ", text.lower()).split()).strip(" .")


def cache_key(infos: list[ManualInfo], asked: Asked) -> str:
    """One key per set of document versions, engine, language, question and its context."""
    documents = ",".join(f"{info.id}.{info.version}" for info in infos)
    said = "\n".join(
        [normalise_question(asked.context), normalise_question(asked.text), asked.lang or ""]
    )
    digest = hashlib.sha256(f"{documents}\n{said}".encode()).hexdigest()[:32]
    return f"{ANSWER_CACHE_PREFIX}:{engine_name()}:{digest}"
