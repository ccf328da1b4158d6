"""The extractive engine: an answer made only of the manual's own sentences and steps.

Every claim is a unit of the manual, quoted as printed and followed by its page marker, in
the manual's order. The only words of our own are the fixed sentences of an abstention.
"""

from __future__ import annotations

from collections.abc import Iterable

from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, Answer, ManualInfo, marker
from apps.manuals.retrieval import Hit, ManualIndex, Ranker, query_weights

# Below this share of the question's weighted terms in the best passage, the manual is taken
# not to answer it (tuned on qa_set.json with `manage.py eval_answers`).
MIN_PASSAGE_COVERAGE = 0.4
# A sentence must carry this share of the question on its own to be quoted.
MIN_UNIT_COVERAGE = 0.3
# Sentences within this share of the best sentence's score are quoted too.
RELATIVE_UNIT_SCORE = 0.6
MAX_CLAIMS = 3
MAX_STEPS = 10


def abstention(manual: ManualInfo) -> Answer:
    return Answer(
        state=NOT_IN_MANUAL,
        pieces=[
            "The manual does not cover this question. ",
            f"I searched {manual.title or 'the manual'} and found no passage that answers it, "
            "so I will not guess; try other words, or contact support.",
        ],
    )


def _step_run(index: ManualIndex, unit: int) -> range:
    """The numbered list around `unit`, or starting right after it (a heading or intro)."""
    units = index.units
    if not units[unit].is_step:
        following = unit + 1
        if (
            following < len(units)
            and units[following].is_step
            and units[following].text.startswith("1.")
        ):
            return range(unit, _run_end(index, following))
        return range(unit, unit + 1)
    start = unit
    while start > 0 and units[start - 1].is_step and not units[start].text.startswith("1."):
        start -= 1
    return range(start, _run_end(index, start))


def _run_end(index: ManualIndex, start: int) -> int:
    end = start + 1
    while (
        end < len(index.units)
        and end - start < MAX_STEPS
        and index.units[end].is_step
        and not index.units[end].text.startswith("1.")
    ):
        end += 1
    return end


def select_units(index: ManualIndex, weights: dict[str, float], hits: list[Hit]) -> list[int]:
    """Indices of the units to quote, in manual order; empty when the evidence is weak."""
    if not hits or hits[0].coverage < MIN_PASSAGE_COVERAGE:
        return []
    wanted = index.wanted(weights)
    candidates = sorted(
        {
            unit
            for hit in hits
            if hit.coverage >= 0.8 * hits[0].coverage
            for unit in range(hit.start, hit.end)
        }
    )
    scored: list[tuple[float, int]] = []
    for unit in candidates:
        terms = index.unit_terms[unit]
        score = sum(
            weight * index.term_idf(term) for term, weight in weights.items() if terms[term]
        )
        if score > 0:
            scored.append((score / wanted, unit))
    if not scored:
        return []
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[0][0]
    if best < MIN_UNIT_COVERAGE:
        return []
    chosen: set[int] = set()
    quoted: set[str] = set()
    for score, unit in scored:
        if len(quoted) >= MAX_CLAIMS or score < RELATIVE_UNIT_SCORE * best:
            break
        # A manual that repeats itself (the same note in two chapters) is quoted once.
        if index.units[unit].text in quoted:
            continue
        quoted.add(index.units[unit].text)
        chosen.update(_step_run(index, unit))
    return sorted(chosen)


def compose(
    *,
    manual: ManualInfo,
    index: ManualIndex,
    question: str,
    exclude: Iterable[str] = (),
    ranker: Ranker | None = None,
) -> Answer:
    """`ranker` replaces the index's own BM25 (the evaluation compares it with bm25s)."""
    weights = query_weights(question, exclude=exclude)
    hits = (ranker or index.rank)(question, weights, 3)
    chosen = select_units(index, weights, hits)
    if not chosen:
        return abstention(manual)
    pieces: list[str] = []
    citations: dict[int, dict] = {}
    previous_step = False
    for position, unit_index in enumerate(chosen):
        unit = index.units[unit_index]
        separator = ""
        if position:
            separator = "\n" if unit.is_step or previous_step else " "
        pieces.append(f"{separator}{unit.text} {marker(unit.pages)}")
        previous_step = unit.is_step
        for page in unit.pages:
            citations.setdefault(page, manual.citation(page=page, snippet=unit.text))
    return Answer(
        state=ANSWERED,
        pieces=pieces,
        citations=[citations[page] for page in sorted(citations)],
        engine="extractive",
    )


def retrieve(index: ManualIndex, question: str, *, exclude: Iterable[str] = ()) -> list[Hit]:
    """The passages an LLM is given for a question."""
    return index.search(query_weights(question, exclude=exclude), limit=5)
