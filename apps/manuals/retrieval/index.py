"""The passage index of one manual version: BM25 postings in numpy arrays, and embeddings.

Passages follow the manual's structure: one never crosses a section heading, and every
passage of a section carries the heading's terms, so "restore the factory settings" finds
the steps under "Restoring the Factory Settings". Inside a section a passage is built up to
about 70 words and the next one starts half-way through it.

The index is built once by the worker at ingest and stored as bytes (`to_bytes`, see
stored.py): flat arrays behind a small header that `from_bytes` maps back with
`numpy.frombuffer`, so a web process loads a 2,000-page index in milliseconds instead of
rebuilding it. Scoring is vectorised: per query term one slice of the postings.

The index also keeps its vocabulary for bridging: the most widespread plain words of the
manual as printed, embedded by the worker like a query ("query: reverb"). A Hebrew question
word ("לריוורב") is embedded the same way, and the manual words that stand out as its nearest
(by how far their cosine lies above the word's cosine with the rest of the vocabulary) become
lexical query terms, so BM25 and the coverage behind "not covered" see the Hebrew question.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from apps.manuals.retrieval import stored
from apps.manuals.retrieval.structure import HEADING, ROW, Unit, split_units
from apps.manuals.retrieval.text import STOPWORDS, allowed_edits, surface_words, tokens
from apps.products.prediction.hebrew import is_everyday_hebrew
from apps.products.prediction.sounds import SoundMap

_K1 = 1.2
_B = 0.75
_PASSAGE_WORDS = 70
# Embedded text per passage: the model reads at most 512 tokens, and shorter is faster.
_EMBED_WORDS = 110
# The manual words embedded for bridging, the most widespread first (about 0.8 kB each).
BRIDGE_WORDS = 3000
# A manual word is a Hebrew word's equivalent when its cosine stands this many standard
# deviations above the word's cosines with the whole vocabulary (tuned on the real set), and
# it is fully trusted from BRIDGE_FULL up; near-ties of the best are taken too.
BRIDGE_FLOOR = 4.0
BRIDGE_FULL = 5.0
BRIDGE_TIE = 0.015
BRIDGE_MAX = 2
STOP_TERM = ""  # what a bridge word that is a stop word stands for
# A question word the manual does not print is read as a typo of one of its words (within
# `text.allowed_edits`), or as an abbreviation of one from ABBREVIATION_LETTERS letters ("freq").
ABBREVIATION_LETTERS = 4
# Boilerplate (repeated notices, safety sections) ranks as if it matched this much less.
_BOILERPLATE_WEIGHT = 0.6


@dataclass(frozen=True)
class Hit:
    start: int  # first unit of the passage
    end: int  # one past its last unit
    pages: tuple[int, ...]
    score: float
    coverage: float  # share of the query's weighted idf that the passage contains
    passage: int = -1
    dense: float | None = None  # cosine of the question and the passage
    fused: float = 0.0  # what passages are ranked by (0..1)
    evidence: float = 0.0  # what "not covered" is decided on (0..1)
    document: int = 0  # position of its document in a multi-document query


class ManualIndex:
    """BM25 and (once stored) embeddings over the structured passages of a manual version."""

    def __init__(
        self,
        *,
        manual_id: int,
        version: int,
        pages: Sequence[tuple[int, str]] = (),
        units: list[Unit] | None = None,
    ) -> None:
        self.manual_id = manual_id
        self.version = version
        self.units = split_units(pages) if units is None else units
        self.embeddings: np.ndarray | None = None
        self.embedding_model = ""
        self.bridge_vectors: np.ndarray | None = None
        self._unit_terms: dict[int, Counter[str]] = {}
        self._build()

    # --- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.passages = self._cut_passages()
        vocabulary: dict[str, int] = {}
        rows: list[tuple[int, int, int]] = []  # (term id, passage, count)
        lengths: list[int] = []
        for number, (first, last) in enumerate(self.passages):
            counts: Counter[str] = Counter()
            for unit in range(first, last):
                counts.update(self.unit_terms(unit))
            heading = self.units[first].section
            if heading >= 0 and heading < first:
                counts.update(set(self.unit_terms(heading)))
            lengths.append(sum(counts.values()))
            for term, count in counts.items():
                rows.append((vocabulary.setdefault(term, len(vocabulary)), number, count))
        self.vocabulary = vocabulary
        self.lengths = np.array(lengths, dtype=np.float32)
        order = sorted(range(len(rows)), key=lambda row: (rows[row][0], rows[row][1]))
        term_ids = np.array([rows[row][0] for row in order], dtype=np.int32)
        self.post_passages = np.array([rows[row][1] for row in order], dtype=np.int32)
        counts_array = np.array([rows[row][2] for row in order], dtype=np.float32)
        self.post_offsets = np.searchsorted(
            term_ids, np.arange(len(vocabulary) + 1, dtype=np.int32)
        ).astype(np.int32)
        average = float(self.lengths.mean()) if len(lengths) else 1.0
        norm = _K1 * (1 - _B + _B * self.lengths[self.post_passages] / (average or 1.0))
        self.post_scores = (counts_array * (_K1 + 1) / (counts_array + norm)).astype(np.float32)
        self.passage_weight = np.array(
            [self._weight(first, last) for first, last in self.passages], dtype=np.float32
        )
        self._finish()
        self.bridge_words, self.bridge_terms = self._bridge_vocabulary()

    def _bridge_vocabulary(self) -> tuple[list[str], list[str]]:
        """The manual's plain words to embed for bridging: per term its commonest printed
        form, the terms found in the most passages first, at most BRIDGE_WORDS."""
        printed: dict[str, Counter[str]] = {}
        for unit in self.units:
            for term, word in surface_words(unit.text):
                if term in self.vocabulary:
                    printed.setdefault(term, Counter())[word] += 1
        frequency = np.diff(self.post_offsets)
        chosen = sorted(printed, key=lambda term: (-frequency[self.vocabulary[term]], term))
        chosen = chosen[:BRIDGE_WORDS]
        # The stop words are embedded too, as sinks: a Hebrew word whose equivalent is one
        # ("עושה", "does") is a function word, not a topic the manual lacks.
        sinks = sorted(word for word in STOPWORDS if word.isascii() and word.isalpha())
        return (
            [*(printed[term].most_common(1)[0][0] for term in chosen), *sinks],
            [*chosen, *([STOP_TERM] * len(sinks))],
        )

    def _finish(self) -> None:
        total = len(self.passages) or 1
        document_frequency = np.diff(self.post_offsets).astype(np.float64)
        self.idf_array = np.log(1 + (total - document_frequency + 0.5) / (document_frequency + 0.5))
        # A query term the manual never uses weighs as much as the rarest possible term.
        self.unknown_idf = math.log(1 + (total + 0.5) / 0.5)

    def _weight(self, first: int, last: int) -> float:
        units = self.units[first:last]
        share = sum(unit.boilerplate for unit in units) / max(1, len(units))
        return 1.0 - (1.0 - _BOILERPLATE_WEIGHT) * share

    def _cut_passages(self) -> list[tuple[int, int]]:
        passages: list[tuple[int, int]] = []
        section_starts = [
            position
            for position, unit in enumerate(self.units)
            if position == 0 or unit.section != self.units[position - 1].section
        ]
        bounds = [*section_starts, len(self.units)]
        for begin, finish in itertools.pairwise(bounds):
            start = begin
            while start < finish:
                end, words, half = start, 0, start
                while end < finish and words < _PASSAGE_WORDS:
                    words += len(self.units[end].text.split())
                    end += 1
                    if words < _PASSAGE_WORDS / 2:
                        half = end
                # A passage that is only its heading says nothing: it joins what follows.
                if end == start + 1 and self.units[start].kind == HEADING and end < finish:
                    end += 1
                passages.append((start, end))
                if end >= finish:
                    break
                start = max(half, start + 1)
        return passages

    # --- terms ------------------------------------------------------------------------------

    def unit_terms(self, unit: int) -> Counter[str]:
        terms = self._unit_terms.get(unit)
        if terms is None:
            terms = self._unit_terms[unit] = Counter(tokens(self.units[unit].text))
        return terms

    def term_idf(self, term: str) -> float:
        term_id = self.vocabulary.get(term)
        return self.unknown_idf if term_id is None else float(self.idf_array[term_id])

    def knows(self, term: str) -> bool:
        return term in self.vocabulary

    def wanted(self, weights: dict[str, float]) -> float:
        """The weighted idf a passage would need to hold the whole question.

        A number the manual never prints ("tune to 442 Hz") is a value the customer chose, not
        a topic the manual lacks, so it does not count against the evidence.
        """
        return (
            sum(
                weight * self.term_idf(term)
                for term, weight in weights.items()
                if self.knows(term) or not term.isdigit()
            )
            or 1.0
        )

    def passage_terms(self, passage: int) -> set[str]:
        first, last = self.passages[passage]
        present: set[str] = set()
        for unit in range(first, last):
            present.update(self.unit_terms(unit))
        heading = self.units[first].section
        if 0 <= heading < first:
            present.update(self.unit_terms(heading))
        return present

    # --- text -------------------------------------------------------------------------------

    def pages_of(self, start: int, end: int) -> tuple[int, ...]:
        return tuple(sorted({page for unit in self.units[start:end] for page in unit.pages}))

    def section_of(self, passage: int) -> str:
        heading = self.units[self.passages[passage][0]].section
        return self.units[heading].text if heading >= 0 else ""

    def passage_text(self, passage: int) -> str:
        first, last = self.passages[passage]
        return " ".join(unit.text for unit in self.units[first:last])

    def embedding_texts(self) -> list[str]:
        """What is embedded per passage: its section title, then its text."""
        texts = []
        for passage, (first, _) in enumerate(self.passages):
            heading = self.units[first].section
            title = self.units[heading].text if 0 <= heading < first else ""
            words = (
                f"{title}: {self.passage_text(passage)}" if title else self.passage_text(passage)
            )
            texts.append(" ".join(words.split()[:_EMBED_WORDS]))
        return texts

    # --- ranking ----------------------------------------------------------------------------

    def hit(self, passage: int, *, score: float, weights: dict[str, float]) -> Hit:
        """A ranked passage with its pages and the share of the question it holds."""
        first, last = self.passages[passage]
        present = self.passage_terms(passage)
        matched = sum(
            weight * self.term_idf(term)
            for term, weight in weights.items()
            if term in present and self.knows(term)
        )
        return Hit(
            start=first,
            end=last,
            pages=self.pages_of(first, last),
            score=score,
            coverage=matched / self.wanted(weights),
            passage=passage,
        )

    def scores(self, weights: dict[str, float]) -> np.ndarray:
        """BM25 of every passage, boilerplate weighed down."""
        scores = np.zeros(len(self.passages), dtype=np.float32)
        for term, weight in weights.items():
            term_id = self.vocabulary.get(term)
            if term_id is None:
                continue
            begin, end = self.post_offsets[term_id], self.post_offsets[term_id + 1]
            scores[self.post_passages[begin:end]] += (
                weight * self.idf_array[term_id] * self.post_scores[begin:end]
            )
        return scores * self.passage_weight

    def search(self, weights: dict[str, float], *, limit: int = 5) -> list[Hit]:
        if not weights or not self.passages:
            return []
        scores = self.scores(weights)
        best = _top(scores, limit)
        return [
            self.hit(int(passage), score=float(scores[passage]), weights=weights)
            for passage in best
            if scores[passage] > 0
        ]

    def rank(self, question: str, weights: dict[str, float], limit: int) -> list[Hit]:
        """The production `Ranker`: the question's weighted terms are all it needs."""
        return self.search(weights, limit=limit)

    def dense_scores(self, vector: np.ndarray) -> np.ndarray | None:
        if self.embeddings is None or not len(self.passages):
            return None
        if vector.shape[-1] != self.embeddings.shape[1]:
            return None  # embedded by another model: lexical only until re-embedded
        return self.embeddings @ vector.astype(np.float32)

    def set_embeddings(
        self, matrix: np.ndarray, *, model: str, words: np.ndarray | None = None
    ) -> None:
        """The passages' vectors and, when embedded, the bridge words' (`bridge_words` order)."""
        if matrix.shape[0] != len(self.passages):
            raise ValueError(
                f"{matrix.shape[0]} embeddings for {len(self.passages)} passages of the index"
            )
        if words is not None and words.shape[0] != len(self.bridge_words):
            raise ValueError(
                f"{words.shape[0]} embeddings for {len(self.bridge_words)} bridge words"
            )
        self.embeddings = np.ascontiguousarray(matrix, dtype=np.float32)
        self.embedding_model = model
        self.bridge_vectors = (
            None if words is None or not len(words) else np.ascontiguousarray(words, np.float32)
        )

    def bridge(self, vectors: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per word vector, the manual terms it stands for, with a trust of 0..1 each
        (STOP_TERM first: the word is a function word)."""
        if self.bridge_vectors is None or vectors.shape[-1] != self.bridge_vectors.shape[1]:
            return [[] for _ in range(len(vectors))]
        similarities = vectors.astype(np.float32) @ self.bridge_vectors.T
        found: list[list[tuple[str, float]]] = []
        for row in similarities:
            spread = float(row.std()) or 1.0
            lifts = (row - float(row.mean())) / spread
            best = np.argsort(-row)[:BRIDGE_MAX]
            top = float(row[best[0]])
            found.append(
                [
                    (self.bridge_terms[term], _trust(float(lifts[term])))
                    for term in best.tolist()
                    if lifts[term] >= BRIDGE_FLOOR and row[term] >= top - BRIDGE_TIE
                ]
            )
        return found

    @cached_property
    def _own_words(self) -> list[str]:
        """The bridge words the manual prints, without the stop words embedded as sinks."""
        return self.bridge_words[: self.bridge_terms.index(STOP_TERM)] if self.bridge_terms else []

    @cached_property
    def _sounds(self) -> tuple[SoundMap, dict[str, str]]:
        words = self._own_words
        return SoundMap(words), dict(zip(words, self.bridge_terms[: len(words)], strict=True))

    def sounded(self, hebrew: str) -> str | None:
        """The term of the manual word a Hebrew word spells by its sound, a loanword as Hebrew
        writes it ("סיקוונס" for sequence, "טריגר" for trigger); None when none. An everyday
        Hebrew word ("חדש", new, is not "head") is Hebrew, whatever it sounds like."""
        if is_everyday_hebrew(hebrew):
            return None
        sounds, terms = self._sounds
        word = sounds.word_for(hebrew)
        return terms.get(word) if word is not None else None

    def spelled(self, word: str) -> str | None:
        """The term of the manual word that `word` (plain, lower-case, not in the manual)
        misspells or abbreviates; None when none does. The most widespread word wins a tie."""
        words = self._own_words
        if len(word) >= ABBREVIATION_LETTERS:
            for position, printed in enumerate(words):
                if printed.startswith(word):
                    return self.bridge_terms[position]
        edits = allowed_edits(word)
        if not edits:
            return None
        found = process.extractOne(
            word, words, scorer=OSA.distance, score_cutoff=edits, processor=None
        )
        return self.bridge_terms[found[2]] if found else None

    def table_header(self, unit: int) -> int | None:
        """The header row of the table a row belongs to (None for the header itself)."""
        found = self.units[unit]
        if found.kind == ROW and 0 <= found.label < unit:
            return found.label
        return None

    # --- storage ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        return stored.encode(self)

    @classmethod
    def from_bytes(cls, data: bytes, *, manual_id: int, version: int) -> ManualIndex:
        index = cls.__new__(cls)
        index.manual_id = manual_id
        index.version = version
        stored.fill(index, data)
        index.embeddings = None
        index.embedding_model = ""
        index.bridge_vectors = None
        index._unit_terms = {}
        index._finish()
        return index


def _trust(lift: float) -> float:
    """Half trusted at the floor, fully from BRIDGE_FULL up."""
    ramp = (lift - BRIDGE_FLOOR) / (BRIDGE_FULL - BRIDGE_FLOOR)
    return 0.5 + 0.5 * float(np.clip(ramp, 0.0, 1.0))


def _top(scores: np.ndarray, limit: int) -> list[int]:
    """Indices of the `limit` best scores, best first; ties keep manual order."""
    if len(scores) > limit * 4:
        candidates = np.argpartition(-scores, limit)[:limit]
    else:
        candidates = np.arange(len(scores))
    return sorted(candidates.tolist(), key=lambda passage: (-scores[passage], passage))[:limit]


# Ranks the passages of one index for a question (given as text and as our weighted terms).
Ranker = Callable[[str, dict[str, float], int], list[Hit]]
