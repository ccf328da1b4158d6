"""The LLM engine: the model answers from labelled passages, or we fall back to extraction.

The model's text is passed on a sentence at a time, so a citation to a page it was not given
can be removed before the customer sees it. When the endpoint fails part-way, what was sent
stays, a fixed sentence says so, and the extractive answer follows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from django.conf import settings

from apps.manuals import llm_client
from apps.manuals.answers.extractive import abstention
from apps.manuals.answers.framing import phrase
from apps.manuals.answers.types import (
    ANSWERED,
    NOT_IN_MANUAL,
    Answer,
    ManualInfo,
    marker,
    marker_pages,
)
from apps.manuals.retrieval import Hit, ManualIndex

NOT_IN_MANUAL_REPLY = "NOT_IN_MANUAL"
FALLBACK_NOTICE = "llm_failed"
NO_CITATION_NOTICE = "llm_uncited"
LANGUAGE_NAMES = {"en": "English", "he": "Hebrew"}
SYSTEM_PROMPT = (
    "You answer customers' questions about a musical instrument using only the manual "
    "passages given. Each passage names its document and starts with its page label such as "
    "[p. 12]. After every sentence that states a fact, put the label of the page it comes "
    "from, exactly as given, for example [p. 12]. Never use knowledge from outside the "
    "passages and cite only the pages given. Answer in {language}, the customer's language, "
    "whatever the language of the manual; keep names of controls as printed. Be brief; keep "
    "numbered steps as steps. If the passages do not answer the question, reply with exactly "
    f"{NOT_IN_MANUAL_REPLY} and nothing else."
)
Document = tuple[ManualInfo, ManualIndex]

_semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _semaphore() -> asyncio.Semaphore:
    """The concurrency limit of this event loop (a semaphore cannot cross loops)."""
    loop = asyncio.get_running_loop()
    semaphore = _semaphores.get(loop)
    if semaphore is None:
        for stale in [known for known in _semaphores if known.is_closed()]:
            del _semaphores[stale]
        semaphore = _semaphores[loop] = asyncio.Semaphore(settings.LLM_MAX_CONCURRENCY)
    return semaphore


def enabled() -> bool:
    return bool(settings.LLM_BASE_URL)


def build_messages(
    *, documents: list[Document], hits: list[Hit], question: str, lang: str | None = None
) -> list[dict[str, str]]:
    passages = []
    for hit in sorted(hits, key=lambda hit: (hit.document, hit.start)):
        info, index = documents[hit.document]
        lines = [f"{unit.text} {marker(unit.pages)}" for unit in index.units[hit.start : hit.end]]
        passages.append(f"Passage from {info.title} {marker(hit.pages)}:\n" + "\n".join(lines))
    language = LANGUAGE_NAMES.get(lang or "en", "English")
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(language=language)},
        {
            "role": "user",
            "content": "Manual passages:\n\n" + "\n\n".join(passages) + f"\n\nQuestion: {question}",
        },
    ]


def keep_given_citations(text: str, given: set[int]) -> str:
    """Remove page markers (or the pages in them) that name pages the model was not given."""
    pieces: list[str] = []
    last = 0
    for match, pages in marker_pages(text):
        kept = tuple(sorted({page for page in pages if page in given}))
        pieces.append(
            text[last : match.start()].rstrip(" ") if not kept else text[last : match.start()]
        )
        if kept:
            pieces.append(marker(kept) if len(kept) == 1 or _contiguous(kept) else _list(kept))
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _contiguous(pages: tuple[int, ...]) -> bool:
    return pages[-1] - pages[0] == len(pages) - 1


def _list(pages: tuple[int, ...]) -> str:
    return "[pp. " + ", ".join(str(page) for page in pages) + "]"


def split_complete(buffer: str) -> tuple[str, str]:
    """Split off the finished sentences (with their page markers) from the text still coming."""
    depth = 0
    cut = 0
    for position, char in enumerate(buffer):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char in " \n" and depth == 0 and position + 1 < len(buffer):
            before = buffer[:position].rstrip()
            after = buffer[position + 1 :].lstrip(" \n")
            if before.endswith((".", "!", "?", "]")) and after and not after.startswith("["):
                cut = position + 1
    return buffer[:cut], buffer[cut:]


def _citations(text: str, documents: list[Document], hits: list[Hit]) -> list[dict]:
    """Citations of the pages the text names, each from the first given passage printed on it."""
    snippets: dict[int, tuple[ManualInfo, str]] = {}
    for hit in hits:
        info, index = documents[hit.document]
        for unit in index.units[hit.start : hit.end]:
            for page in unit.pages:
                snippets.setdefault(page, (info, unit.text))
    cited: list[int] = []
    for _, pages in marker_pages(text):
        cited.extend(page for page in pages if page in snippets and page not in cited)
    return [
        snippets[page][0].citation(page=page, snippet=snippets[page][1]) for page in sorted(cited)
    ]


async def answer(
    *,
    hits: list[Hit],
    question: str,
    fallback: Answer,
    emit: Callable[[str], Awaitable[None]],
    documents: list[Document] | None = None,
    manual: ManualInfo | None = None,
    index: ManualIndex | None = None,
    lang: str | None = None,
) -> Answer:
    """Stream the model's answer through `emit`; the extractive `fallback` covers failures.

    `documents` are the (ManualInfo, index) pairs the `hits` point into (`hit.document`);
    `manual`/`index` stand for a single document. `lang` is the customer's language.
    """
    if not documents:
        assert manual is not None and index is not None, "answer() needs documents"
        documents = [(manual, index)]
    given = {page for hit in hits for page in hit.pages}
    sent: list[str] = []
    buffer = ""

    async def fall_back(notice: str) -> Answer:
        lead = ("\n\n" if sent else "") + phrase(notice, lang) + " "
        pieces = [lead, *fallback.pieces] if fallback.state == ANSWERED else fallback.pieces
        for piece in pieces:
            await emit(piece)
        text = "".join(sent)
        merged = {c["page"]: c for c in _citations(text, documents, hits)}
        merged.update({c["page"]: c for c in fallback.citations})
        return Answer(
            state=fallback.state if not merged else ANSWERED,
            pieces=[*sent, *pieces],
            citations=[merged[page] for page in sorted(merged)],
            engine="extractive",
        )

    async def send(text: str) -> None:
        cleaned = keep_given_citations(text, given)
        if cleaned:
            sent.append(cleaned)
            await emit(cleaned)

    semaphore = _semaphore()
    try:
        await asyncio.wait_for(semaphore.acquire(), timeout=settings.LLM_TIMEOUT)
    except TimeoutError:
        return await fall_back(FALLBACK_NOTICE)
    try:
        stream = llm_client.stream_chat(
            base_url=settings.LLM_BASE_URL,
            model=settings.LLM_MODEL,
            api_key=settings.LLM_API_KEY,
            messages=build_messages(documents=documents, hits=hits, question=question, lang=lang),
            timeout=settings.LLM_TIMEOUT,
        )
        # Closed before the slot is released, even when the answer is cancelled mid-stream,
        # so no more than LLM_MAX_CONCURRENCY requests are ever open at the endpoint.
        async with contextlib.aclosing(stream):
            async for chunk in stream:
                buffer += chunk
                complete, buffer = split_complete(buffer)
                if complete:
                    await send(complete)
    except llm_client.LLMError:
        return await fall_back(FALLBACK_NOTICE)
    finally:
        semaphore.release()
    if not sent and buffer.strip().startswith(NOT_IN_MANUAL_REPLY):
        abstained = _abstention_of(fallback, [info for info, _ in documents], lang)
        for piece in abstained.pieces:
            await emit(piece)
        return Answer(state=NOT_IN_MANUAL, pieces=abstained.pieces, engine="llm")
    if buffer:
        await send(buffer)
    text = "".join(sent)
    citations = _citations(text, documents, hits)
    if not citations:
        return await fall_back(NO_CITATION_NOTICE)
    return Answer(state=ANSWERED, pieces=sent, citations=citations, engine="llm")


def _abstention_of(fallback: Answer, manuals: list[ManualInfo], lang: str | None) -> Answer:
    return fallback if fallback.state == NOT_IN_MANUAL else abstention(manuals, lang)
