"""The extractive engine: an answer made only of the manuals' own sentences, steps and rows.

The answer leads with the passage that answers best and, inside it, with the sentence that
holds most of the question; numbered steps stay a list in the manual's order, a table row
comes with its header row, and a matched heading is answered with what it titles. Each
passage is cited once, by its pages, and names its document. The only words of our own
("According to ...", the page labels, the abstention) follow the customer's language; the
quotes stay in the manual's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from apps.manuals.answers.framing import document_list, phrase
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, Answer, ManualInfo, marker
from apps.manuals.retrieval import store
from apps.manuals.retrieval.index import Hit, ManualIndex, Ranker
from apps.manuals.retrieval.search import (
    Query,
    answerable,
    build_query,
    document_terms,
    rank,
    uses_context,
)
from apps.manuals.retrieval.structure import HEADING, ITEM, ROW, SENTENCE, STEP
from apps.manuals.retrieval.text import detect_language, hebrew_words, query_weights

# A sentence must carry this share of the question on its own to be quoted.
MIN_UNIT_COVERAGE = 0.3
# Sentences within this share of the passage's best sentence are quoted too.
RELATIVE_UNIT_SCORE = 0.6
# Passages within this share of the best passage's evidence are quoted too.
RELATIVE_PASSAGE_EVIDENCE = 0.8
MAX_PASSAGES = 3
MAX_CLAIMS = 3
MAX_STEPS = 12
# What a heading, or a passage matched on meaning only, is answered with; a section this
# short is one instruction, quoted on from the sentence that leads the answer.
LEAD_WORDS = 70

Document = tuple[ManualInfo, ManualIndex]


@dataclass
class _Block:
    document: int
    units: list[int]  # in the order quoted


def abstention(manuals: ManualInfo | Sequence[ManualInfo], lang: str | None = None) -> Answer:
    listed = [manuals] if isinstance(manuals, ManualInfo) else list(manuals)
    searched = document_list([manual.title for manual in listed], lang)
    return Answer(
        state=NOT_IN_MANUAL,
        pieces=[phrase("not_covered", lang) + " ", phrase("searched", lang, documents=searched)],
    )


def _documents(
    documents: Sequence[Document] | None, manual: ManualInfo | None, index: ManualIndex | None
) -> list[Document]:
    if documents:
        return list(documents)
    if manual is None or index is None:
        raise TypeError("compose() needs documents=[(ManualInfo, index), ...]")
    return [(manual, index)]


def _query(
    indexes: Sequence[ManualIndex],
    question: str,
    context: str,
    exclude: list[str],
    query_vector: np.ndarray | None,
) -> Query:
    """The question as the documents' ranking reads it (`exclude`: the product's names)."""

    def knows(term: str) -> bool:
        return any(index.knows(term) for index in indexes)

    context_vector = None
    # Hebrew words are bridged to an English manual's words only when the question itself
    # was embedded: same model, and no second wait on an endpoint that is down.
    foreign = hebrew_words(question, exclude=exclude) if query_vector is not None else []
    if (
        context
        and query_vector is not None
        and uses_context(question, query_weights(question, exclude=exclude), exclude, knows)
    ):
        # The context is the previous question, then its answer: the question says what the
        # turn was about, and its vector is cached from that turn. The model's cost grows
        # with every token (a ~460-token answer took 6-7 times as long as 100 tokens).
        previous = context.split("\n", 1)[0]
        context_vector = store.embed_question(previous, exclude=exclude)
        # Its Hebrew words are bridged too, at the context's weight ("ואיך טוענים אותו?"
        # after "איך שומרים פריסט?" is about presets); their vectors are cached from then.
        foreign += [word for word in hebrew_words(previous, exclude=exclude) if word not in foreign]
    return build_query(
        question=question,
        context=context,
        exclude=exclude,
        query_vector=query_vector,
        context_vector=context_vector,
        foreign=foreign,
        foreign_vectors=store.embed_words(foreign) if foreign else None,
        knows=knows,
    )


def retrieve(
    documents: Sequence[Document] | ManualIndex | None = None,
    question: str = "",
    *,
    index: ManualIndex | None = None,
    context: str = "",
    exclude: Iterable[str] = (),
    query_vector: np.ndarray | None = None,
    lang: str | None = None,
    limit: int = 5,
) -> list[Hit]:
    """The passages an LLM is given, across the documents (`hit.document` says whose)."""
    if isinstance(documents, ManualIndex):
        indexes = [documents]
    elif documents:
        indexes = [found for _, found in documents]
    else:
        indexes = [index] if index is not None else []
    query = _query(indexes, question, context, list(exclude), query_vector)
    return rank(indexes, query, limit=limit)


def _unit_score(index: ManualIndex, unit: int, weights: dict[str, float]) -> float:
    terms = index.unit_terms(unit)
    return sum(weight * index.term_idf(term) for term, weight in weights.items() if terms[term])


def _run(index: ManualIndex, unit: int) -> list[int]:
    """The numbered steps around `unit`, or the ones a heading or intro leads into, the
    bullets a sentence ending on a colon introduces ("Serves four percussive purposes:"), or
    the rows of the table whose header row `unit` is ("Buffer length")."""
    units = index.units
    if units[unit].kind == ROW:
        end = unit + 1
        while end < len(units) and end - unit <= MAX_STEPS and index.table_header(end) == unit:
            end += 1
        return list(range(unit, end))
    if units[unit].kind != STEP:
        following = unit + 1
        if (
            following < len(units)
            and units[following].kind == STEP
            and units[following].text.startswith("1.")
        ):
            return [unit, *range(following, _run_end(index, following))]
        if units[unit].text.endswith(":"):
            return list(range(unit, _run_end(index, unit)))
        return [unit]
    start = unit
    while start > 0 and units[start - 1].kind == STEP and not units[start].text.startswith("1."):
        start -= 1
    return list(range(start, _run_end(index, start)))


def _run_end(index: ManualIndex, start: int) -> int:
    """One past the steps from `start`, with the bullets under any of them."""
    units = index.units
    end = start + 1
    while (
        end < len(units)
        and end - start < MAX_STEPS
        and units[end].section == units[start].section
        and (
            (units[end].kind == STEP and not units[end].text.startswith("1."))
            or (units[end].kind == ITEM and not units[end].text[:1].isalnum())
        )
    ):
        end += 1
    return end


def _section_lead(index: ManualIndex, first: int, last: int) -> list[int]:
    """What a passage says first, skipping its heading: up to LEAD_WORDS, steps kept whole."""
    chosen: list[int] = []
    words = 0
    unit = first
    limit = max(last, first + 1)
    while unit < len(index.units) and (unit < limit or index.units[unit].kind == STEP):
        found = index.units[unit]
        if found.section != index.units[first].section and chosen:
            break
        if found.kind != HEADING:
            chosen.append(unit)
            words += len(found.text.split())
            if words >= LEAD_WORDS and found.kind != STEP:
                break
        unit += 1
    return chosen


def _section_rest(index: ManualIndex, unit: int) -> list[int]:
    """`unit` and the sentences that follow it in its section, when the section is short
    enough to be one instruction ("Performing a Hard Reset": unplug, hold, plug in; release
    after 5 seconds; presets are deleted); `unit` alone otherwise. A table or list after the
    sentences is not part of it."""
    units = index.units
    section = units[unit].section
    if section < 0:
        return [unit]
    words = 0
    position = section + 1
    while position < len(units) and units[position].section == section:
        words += len(units[position].text.split())
        if words > LEAD_WORDS:
            return [unit]
        position += 1
    following = [unit]
    while (
        following[-1] + 1 < len(units)
        and units[following[-1] + 1].section == section
        and units[following[-1] + 1].kind == SENTENCE
    ):
        following.append(following[-1] + 1)
    return following


def _heading_body(index: ManualIndex, heading: int) -> list[int]:
    end = heading + 1
    while end < len(index.units) and index.units[end].section == heading:
        end += 1
    return _section_lead(index, heading + 1, end)


def _with_context_rows(index: ManualIndex, units: list[int]) -> list[int]:
    """A table row is quoted with its header row, so the values can be read."""
    out: list[int] = []
    for unit in units:
        header = index.table_header(unit)
        if header is not None and header not in out and header not in units:
            out.append(header)
        out.append(unit)
    return out


def _block(index: ManualIndex, hit: Hit, weights: dict[str, float]) -> list[int]:
    """The units of a passage to quote, the best first (steps and rows in manual order)."""
    wanted = index.wanted(weights)
    scored = sorted(
        (
            (score / wanted, unit)
            for unit in range(hit.start, hit.end)
            if (score := _unit_score(index, unit, weights)) > 0
        ),
        key=lambda item: (-item[0], item[1]),
    )
    if not scored or scored[0][0] < MIN_UNIT_COVERAGE:
        if hit.dense is None:
            return []  # no sentence holds enough of the question, and nothing else vouches
        # Matched on meaning, not words (a paraphrase, a Hebrew question): what it says first.
        return _section_lead(index, hit.start, hit.end)
    best = scored[0][0]
    lead: list[int] = []
    rest: set[int] = set()
    quoted: set[str] = set()
    for score, unit in scored:
        if len(quoted) >= MAX_CLAIMS or score < RELATIVE_UNIT_SCORE * best:
            break
        text = index.units[unit].text
        if text in quoted:  # a manual that repeats itself is quoted once
            continue
        quoted.add(text)
        kind = index.units[unit].kind
        if kind == HEADING:
            expansion = _heading_body(index, unit)
        elif kind == SENTENCE and not lead and not text.endswith(":"):
            expansion = _section_rest(index, unit)
        else:
            expansion = _run(index, unit)
        if lead:
            rest.update(expansion)
        else:
            lead = expansion
    # The best sentence (or its list of steps) leads; the others follow in manual order.
    return _with_context_rows(index, [*lead, *sorted(rest - set(lead))])


def _join(index: ManualIndex, units: list[int]) -> str:
    """The units as quoted: lists a line each, and "…" where the manual's text was skipped."""
    listed_kinds = (STEP, ROW, ITEM)
    parts: list[str] = []
    for position, unit in enumerate(units):
        found = index.units[unit]
        if position:
            previous = units[position - 1]
            if found.kind in listed_kinds or index.units[previous].kind in listed_kinds:
                parts.append("\n")
            else:
                parts.append(" " if unit == previous + 1 else " … ")
        parts.append(found.text)
    return "".join(parts)


def compose(
    *,
    documents: Sequence[Document] | None = None,
    question: str,
    context: str = "",
    exclude: Iterable[str] = (),
    query_vector: np.ndarray | None = None,
    lang: str | None = None,
    ranker: Ranker | None = None,
    manual: ManualInfo | None = None,
    index: ManualIndex | None = None,
) -> Answer:
    """Answer `question` from the product's documents, or abstain.

    `documents` are (ManualInfo, index) pairs of one product; `manual`/`index` stand for a
    single document. `context` is the previous question and answer, used for a follow-up;
    `query_vector` the question's embedding (None: lexical only); `lang` the customer's
    language (default: detected from the question). `ranker` replaces BM25 for a single
    document (the evaluation compares it with bm25s).
    """
    docs = _documents(documents, manual, index)
    lang = lang or detect_language(question)
    indexes = [found for _, found in docs]
    query = _query(indexes, question, context, list(exclude), query_vector)
    hits = rank(
        indexes,
        query,
        limit=MAX_PASSAGES * 2,
        ranker=ranker,
        question=question,
    )
    if not answerable(hits):
        return abstention([info for info, _ in docs], lang)
    blocks: list[_Block] = []
    covered: set[tuple[int, int]] = set()
    for hit in hits:
        if len(blocks) >= MAX_PASSAGES or hit.fused < RELATIVE_PASSAGE_EVIDENCE * hits[0].fused:
            break
        found = docs[hit.document][1]
        weights, _ = document_terms(found, query)
        units = [
            unit for unit in _block(found, hit, weights) if (hit.document, unit) not in covered
        ]
        # Notices (repeated text, safety, regulatory) may answer a question, not pad an answer.
        if not units or (blocks and all(found.units[unit].boilerplate for unit in units)):
            continue
        covered.update((hit.document, unit) for unit in units)
        blocks.append(_Block(hit.document, units))
    if not blocks:
        return abstention([info for info, _ in docs], lang)
    return _answer(docs, blocks, lang)


def _snippet(found: ManualIndex, units: list[int], page: int) -> str:
    """What a citation of `page` quotes: the block's text on that page, without its headings
    when it has more ("Buffer length" alone says nothing; its table rows do), on one line,
    with "…" where the answer skips the manual's text."""
    on_page = [unit for unit in units if page in found.units[unit].pages]
    said = [unit for unit in on_page if found.units[unit].kind != HEADING] or on_page
    return " ".join(_join(found, said).split())


def _answer(docs: list[Document], blocks: list[_Block], lang: str) -> Answer:
    pieces: list[str] = []
    citations: dict[tuple[int, int], dict] = {}
    previous_document: int | None = None
    for block in blocks:
        info, found = docs[block.document]
        separator = "\n\n" if pieces else ""
        if block.document != previous_document:
            title = info.title or phrase("the_manual", lang)
            pieces.append(f"{separator}{phrase('according', lang, document=title)}\n")
            separator = ""
        previous_document = block.document
        pages = tuple(sorted({page for unit in block.units for page in found.units[unit].pages}))
        pieces.append(f"{separator}{_join(found, block.units)} {marker(pages, lang)}")
        for page in pages:
            if (info.id, page) not in citations:
                citations[(info.id, page)] = info.citation(
                    page=page, snippet=_snippet(found, block.units, page)
                )
    return Answer(
        state=ANSWERED, pieces=pieces, citations=list(citations.values()), engine="extractive"
    )
