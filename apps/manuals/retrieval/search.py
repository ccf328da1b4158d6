"""Hybrid retrieval over the documents of a product: BM25 and embeddings, fused per passage.

Each candidate passage (the best of either ranking, per document) gets a lexical evidence
(the share of the question's weighted idf it holds, scaled by its BM25 relative to the best
passage) and a dense evidence (the cosine of question and passage, mapped from the range
where multilingual-e5 separates unrelated from related text onto 0..1). The fused evidence
is their weighted mean; the weight of the lexical side is the share of the question written
in the manual's script, so a Hebrew question is matched on meaning and an English one on
both. A Hebrew word bridged to the manual's own words (see `ManualIndex.bridge`) counts as
written in the manual's script, through the words it was bridged to. Both evidences live on
0..1 for every document, so passages of several documents rank against each other. "Not
covered" is decided on the fused evidence and on the words: meaning alone never answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from apps.manuals.retrieval.index import STOP_TERM, Hit, ManualIndex, Ranker
from apps.manuals.retrieval.text import query_weights, surface_words, term_forms, tokens

# Tuned with `manage.py eval_answers` on the non-held-out part of the real-manual set.
LEXICAL_WEIGHT = 0.5
DENSE_FLOOR = 0.0  # lift of cosine over the manual's median passage at which relevance starts
DENSE_CEILING = 0.08  # the further lift at which a passage is squarely on topic
MIN_EVIDENCE = 0.08  # below this evidence the manuals are taken not to answer
# e5 finds an on-topic passage for an off-topic question ("does it have bluetooth?" scores
# like "does it have a reverb?"), so meaning alone never answers: one of the top passages
# must hold this share of the question's words, its own or those its Hebrew was bridged to.
MIN_COVERAGE = 0.1
# Without embeddings (none stored yet, or the model unavailable) the evidence is BM25's
# coverage alone, which needs more of the question (tuned on the demo set, qa_set.json).
MIN_LEXICAL_EVIDENCE = 0.5
CONTEXT_WEIGHT = 0.35  # the previous turn's words, against 1.0 for the question's own
BRIDGE_WEIGHT = 0.7  # a manual word a Hebrew word was bridged to, at full trust
SPELLING_WEIGHT = 0.7  # a manual word a question word misspells or abbreviates
CANDIDATES = 20
_HEBREW = re.compile(r"[\u05d0-\u05ea]")
# What points at the previous turn's action or setting rather than at the product.
_THAT = re.compile(r"\b(?:that|this|those|these)\b", re.IGNORECASE)
# Words that point back at the previous turn ("and how do I undo that?").
_ANAPHORA = re.compile(
    r"\b(?:that|this|it|those|them|these|there)\b|(?:^|\s)(?:זה|זאת|אותו|אותה|אותם|שם)(?:\s|$|[?.!,])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Query:
    weights: dict[str, float]
    vector: np.ndarray | None
    lexical_weight: float  # of the lexical side in ranking
    lexical_share: float  # of the lexical side in the evidence: the question's matchable share
    foreign: tuple[str, ...] = ()  # the question's Hebrew words, to bridge to a manual's words
    foreign_vectors: np.ndarray | None = None  # their embeddings, row per word
    naming: frozenset[str] = frozenset()  # terms of the product's names
    printed: tuple[tuple[str, str], ...] = ()  # (term, word as typed) of its plain words


def _latin_share(weights: dict[str, float]) -> float:
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(w for term, w in weights.items() if not _HEBREW.search(term)) / total


def uses_context(
    question: str,
    weights: dict[str, float],
    exclude: Iterable[str] = (),
    knows: Callable[[str], bool] | None = None,
) -> bool:
    """A follow-up: words that point back at the previous turn, or few words of its own in a
    question that does not name the product again. One that does ("does the n32b have
    bluetooth?") starts afresh: the previous turn's words would answer it about that turn.

    When none of its own words is a word of the manuals (`knows`), only "that" or "this"
    keeps the turn ("and can I undo that?"): "it" there is the product, and "can I buy it in
    Tel Aviv?" after a reset is a new topic the manuals lack, not more about the reset."""
    latin = [term for term in weights if not _HEBREW.search(term)]
    if knows is not None and latin and not any(knows(term) for term in latin):
        return bool(_THAT.search(question))
    if _ANAPHORA.search(question):
        return True
    naming = set(tokens(" ".join(exclude)))
    return len(weights) <= 2 and not naming.intersection(tokens(question))


def build_query(
    *,
    question: str,
    context: str = "",
    exclude: Iterable[str] = (),
    query_vector: np.ndarray | None = None,
    context_vector: np.ndarray | None = None,
    foreign: Sequence[str] = (),
    foreign_vectors: np.ndarray | None = None,
    knows: Callable[[str], bool] | None = None,
) -> Query:
    exclude = list(exclude)
    weights = query_weights(question, exclude=exclude)
    with_context = bool(context.strip()) and uses_context(question, weights, exclude, knows)
    vector = query_vector
    if with_context:
        added = {
            term: CONTEXT_WEIGHT * weight
            for term, weight in query_weights(context, exclude=exclude).items()
            if term not in weights
        }
        # Together the previous turn's words weigh at most what the question's own do: a
        # long answer quoted last time must not outweigh "undo" in "and how do I undo that?".
        scale = min(1.0, max(1.0, sum(weights.values())) / (sum(added.values()) or 1.0))
        weights.update({term: weight * scale for term, weight in added.items()})
        if vector is not None and context_vector is not None:
            mixed = vector + CONTEXT_WEIGHT * context_vector
            vector = mixed / (np.linalg.norm(mixed) or 1.0)
    share = _latin_share(weights) if vector is not None else 1.0
    lexical_weight = LEXICAL_WEIGHT * share if vector is not None else 1.0
    if foreign_vectors is None or len(foreign_vectors) != len(foreign):
        foreign, foreign_vectors = (), None
    return Query(
        weights,
        vector,
        lexical_weight,
        share,
        tuple(foreign),
        foreign_vectors,
        frozenset(tokens(" ".join(exclude))),
        tuple(surface_words(question)),
    )


def bridged_terms(index: ManualIndex, query: Query) -> tuple[dict[str, float], float]:
    """The manual's terms the question's Hebrew words were bridged to, with their weights,
    and the share of the question's words that the manual's words can match.

    The share counts words, not their prefix-less forms: a Latin word counts fully, a Hebrew
    word by the trust of its bridge; one that stands for a stop word or the product's name
    does not count at all.
    """
    if query.foreign_vectors is None or query.vector is None:
        return {}, query.lexical_share
    latin = sum(weight for term, weight in query.weights.items() if not _HEBREW.search(term))
    total, carried = latin, latin
    terms: dict[str, float] = {}
    for word, found in zip(query.foreign, index.bridge(query.foreign_vectors), strict=True):
        forms = term_forms(word.lower())
        own = query.weights.get(forms[0], 0.0) if forms else 0.0
        # A loanword in Hebrew letters is the manual's word by its sound, at full trust.
        sounded = index.sounded(word)
        if sounded is not None:
            found = [(sounded, 1.0), *(pair for pair in found if pair[0] != sounded)]
        if found and (found[0][0] == STOP_TERM or any(t in query.naming for t, _ in found)):
            continue  # a function word, or the product's name in Hebrew ("בביידס")
        total += own
        if not found:
            continue
        carried += own * max(trust for _, trust in found)
        for term, trust in found:
            if term != STOP_TERM and BRIDGE_WEIGHT * own * trust > terms.get(term, 0.0):
                terms[term] = BRIDGE_WEIGHT * own * trust
    return terms, carried / total if total else 0.0


def dense_evidence(cosine: float, background: float) -> float:
    """How far a passage stands out from the rest of its manual for this question.

    e5's cosines sit in a narrow band whose height moves with the question's language and
    length (a Hebrew question scores every English passage lower), so the passage is measured
    against the median passage of the product's documents, not against a fixed cosine.
    """
    lift = cosine - background - DENSE_FLOOR
    return float(np.clip(lift / DENSE_CEILING, 0.0, 1.0))


def document_terms(index: ManualIndex, query: Query) -> tuple[dict[str, float], float]:
    """The weighted terms the question is matched on in this document (its own, those its
    Hebrew words were bridged to, and the words it misspelled or abbreviated), and the share
    of the question they can match."""
    weights = lexical_terms(index, query.weights)
    for term, word in query.printed:
        if term in weights and not index.knows(term) and term not in query.naming:
            meant = index.spelled(word)
            if meant is not None:
                typed = weights.pop(term)
                weights[meant] = max(weights.get(meant, 0.0), SPELLING_WEIGHT * typed)
    bridged, share = bridged_terms(index, query)
    for term, weight in bridged.items():
        weights[term] = max(weights.get(term, 0.0), weight)
    return weights, share


def lexical_terms(index: ManualIndex, weights: dict[str, float]) -> dict[str, float]:
    """The question's terms that BM25 can match: a Hebrew word an English manual never
    uses is left to the embeddings rather than counted as a topic the manual lacks."""
    return {
        term: weight
        for term, weight in weights.items()
        if index.knows(term) or not _HEBREW.search(term)
    }


def rank(
    indexes: Sequence[ManualIndex],
    query: Query,
    *,
    limit: int = 5,
    ranker: Ranker | None = None,
    question: str = "",
) -> list[Hit]:
    """The best passages of all the documents, by fused evidence, best first.

    `ranker` replaces BM25 for the lexical candidates of a single document (the evaluation
    compares it with bm25s).
    """
    per_document: list[tuple[int, ManualIndex, dict[int, Hit], np.ndarray | None]] = []
    best_bm25 = 0.0
    shares: list[float] = []
    for position, index in enumerate(indexes):
        weights, share = document_terms(index, query)
        shares.append(share)
        if ranker is not None and len(indexes) == 1:
            lexical = ranker(question, weights, CANDIDATES)
        else:
            lexical = index.search(weights, limit=CANDIDATES)
        candidates = {hit.passage: hit for hit in lexical}
        dense = index.dense_scores(query.vector) if query.vector is not None else None
        if dense is not None:
            for passage in np.argsort(-dense)[:CANDIDATES].tolist():
                if passage not in candidates:
                    candidates[passage] = index.hit(passage, score=0.0, weights=weights)
        best_bm25 = max([best_bm25, *(hit.score for hit in candidates.values())])
        per_document.append((position, index, candidates, dense))
    # The product's documents together are the background a passage must stand out from.
    cosines = [dense for *_, dense in per_document if dense is not None and len(dense)]
    background = float(np.median(np.concatenate(cosines))) if cosines else 0.0
    fused: list[Hit] = []
    for position, _index, candidates, dense in per_document:
        for passage, hit in candidates.items():
            lexical = hit.coverage * (0.5 + 0.5 * hit.score / best_bm25) if best_bm25 else 0.0
            if dense is None:
                score, evidence, cosine = lexical, lexical, None
            else:
                cosine = float(dense[passage])
                meaning = dense_evidence(cosine, background)
                share = shares[position]
                weight = LEXICAL_WEIGHT * share
                score = weight * lexical + (1 - weight) * meaning
                # Words the manual does not have ("bluetooth", "weigh") are the surest sign
                # it does not cover a question; the embeddings speak for what the question
                # says in another script.
                evidence = share * lexical + (1 - share) * meaning
            fused.append(
                replace(hit, dense=cosine, fused=score, evidence=evidence, document=position)
            )
    fused.sort(key=lambda hit: (-hit.fused, hit.document, hit.start))
    return fused[:limit]


def answerable(hits: Sequence[Hit]) -> bool:
    if not hits:
        return False
    if hits[0].dense is None:
        return max(hit.evidence for hit in hits[:3]) >= MIN_LEXICAL_EVIDENCE
    return (
        max(hit.evidence for hit in hits[:3]) >= MIN_EVIDENCE
        and max(hit.coverage for hit in hits[:3]) >= MIN_COVERAGE
    )
