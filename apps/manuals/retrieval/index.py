"""Passages of a manual that keep their page numbers, ranked for a question with BM25.

Our own BM25 rather than bm25s or PostgreSQL full-text search, and `manage.py eval_answers
--ranker all` shows why: on the QA set bm25s with its own tokenizer cites the expected page
within three citations for 84% of the questions against our 92%, while bm25s fed our `tokens()`
gets our figures exactly. What counts is the tokenization (stop words of questions, synonyms,
"LX-88" and "E-04" kept whole, per-term weights for model numbers, error codes and upper-case
terms such as MIDI); owning the index also gives the same behaviour on SQLite and the coverage
figure the engines abstain on. With postings in dicts, a 900-page manual is scored in about a
millisecond; the index is pickled into the two-layer cache per manual id and version.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from hscjit import cache

INDEX_CACHE_PREFIX = "manual_index"
_K1 = 1.2
_B = 0.75
# A passage is built up to about this many words; the next one starts half-way through it.
_PASSAGE_WORDS = 70
_TECHNICAL_WEIGHT = 2.0

_TOKEN = re.compile(r"[a-z0-9]+(?:[-./][a-z0-9]+)*", re.IGNORECASE)
_STEP = re.compile(r"^\d{1,2}\.\s+\S")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
_PAGE_FURNITURE = re.compile(r"\d+")
STOPWORDS = frozenset(
    """a about after all also am an and any are as at be been before being but by can could
    did do does doing don for from get gets getting had has have how i if in into is it its
    me my myself no not of on once only or other our out over own please same should so some
    such than that the their them then there these they this those through to too under until
    up very was way we were what when where which while who whom why will with would you your
    yours want need know tell manual say says said use using used make work works many much
    long take takes turn hear come comes keep keeps there here get got thing things thanks
    thank hello hi hey""".split()  # noqa: SIM905 - a word list reads better as prose
)


# A few words customers use for what manuals call otherwise; both sides map to one term.
SYNONYMS = {
    "heavy": "weight",
    "weigh": "weight",
    "backward": "revers",
    "everyth": "all",
    "loudnes": "volume",
    "reboot": "restart",
    "setup": "setup",
}


def stem(word: str) -> str:
    """A light suffix stripper: enough for loops/loop and recording/record, never aggressive.

    Plurals go first, then -ing/-ed (undoubling "sett" to "set"), then a final "e", so that
    save, saves, saving and saved all give "sav".
    """
    if len(word) <= 3 or not word.isalpha():
        return SYNONYMS.get(word, word)
    if word.endswith("ies") and len(word) >= 5:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "ches", "shes", "xes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return SYNONYMS.get(word, word)


def tokens(text: str) -> list[str]:
    """Terms of a text: lower-case, stemmed, with "LX-88" and "LX88" both giving "lx88"."""
    terms: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        joined = re.sub(r"[-./]", "", raw)
        if joined in STOPWORDS:
            continue
        terms.append(stem(joined))
        parts = re.split(r"[-./]", raw)
        if len(parts) > 1 and all(part.isalpha() and len(part) >= 3 for part in parts):
            terms.extend(stem(part) for part in parts if part not in STOPWORDS)
    return terms


def query_weights(text: str, *, exclude: Iterable[str] = ()) -> dict[str, float]:
    """Query terms and their weights; terms in `exclude` (the product's own name) are dropped."""
    excluded = set(exclude)
    weights: dict[str, float] = {}
    for raw in _TOKEN.findall(text):
        technical = any(ch.isdigit() for ch in raw) or (raw.isupper() and len(raw) >= 2)
        for term in tokens(raw):
            if term in excluded:
                continue
            weight = _TECHNICAL_WEIGHT if technical else 1.0
            weights[term] = max(weights.get(term, 0.0), weight)
    return weights


@dataclass(frozen=True)
class Unit:
    """A sentence, numbered step, table row or heading, with the page(s) it is printed on."""

    text: str
    pages: tuple[int, ...]
    is_step: bool


@dataclass(frozen=True)
class Hit:
    start: int  # first unit of the passage
    end: int  # one past its last unit
    pages: tuple[int, ...]
    score: float
    coverage: float  # share of the query's weighted idf that the passage contains


def _furniture(pages: Sequence[tuple[int, str]]) -> set[str]:
    """Lines repeated on most pages (running headers, footers): noise for ranking."""
    if len(pages) < 4:
        return set()
    seen: Counter[str] = Counter()
    for _, text in pages:
        seen.update({_PAGE_FURNITURE.sub("#", line.strip()) for line in text.splitlines()})
    return {line for line, count in seen.items() if line and count >= 0.6 * len(pages)}


def _lines(pages: Sequence[tuple[int, str]]) -> list[tuple[str, int]]:
    furniture = _furniture(pages)
    lines: list[tuple[str, int]] = []
    for number, text in pages:
        for line in text.splitlines():
            line = " ".join(line.split())
            if line and _PAGE_FURNITURE.sub("#", line) not in furniture:
                lines.append((line, number))
    return lines


def split_units(pages: Sequence[tuple[int, str]]) -> list[Unit]:
    """Join wrapped lines (also across a page break) and split them into sentences and steps."""
    blocks: list[tuple[str, list[int]]] = []
    for line, number in _lines(pages):
        if blocks:
            previous, numbers = blocks[-1]
            open_sentence = not previous.endswith((".", ":", "!", "?"))
            continues = line[0].islower() or (len(previous) >= 80 and not _STEP.match(line))
            if open_sentence and continues:
                blocks[-1] = (f"{previous} {line}", [*numbers, number])
                continue
        blocks.append((line, [number]))
    units: list[Unit] = []
    for text, numbers in blocks:
        if _STEP.match(text):
            units.append(Unit(text=text, pages=tuple(sorted(set(numbers))), is_step=True))
            continue
        # A block spanning two pages keeps both on every sentence of it, which errs on the
        # side of citing the page a reader needs.
        pages_of_block = tuple(sorted(set(numbers)))
        for sentence in _SENTENCE_END.split(text):
            if sentence.strip():
                units.append(Unit(text=sentence.strip(), pages=pages_of_block, is_step=False))
    return units


class ManualIndex:
    """BM25 over overlapping passages of one manual version."""

    def __init__(self, *, manual_id: int, version: int, pages: Sequence[tuple[int, str]]):
        self.manual_id = manual_id
        self.version = version
        self.units = split_units(pages)
        self.unit_terms = [Counter(tokens(unit.text)) for unit in self.units]
        self.passages: list[tuple[int, int]] = []
        start = 0
        while start < len(self.units):
            end, words, half = start, 0, start
            while end < len(self.units) and words < _PASSAGE_WORDS:
                words += sum(self.unit_terms[end].values()) + 1
                end += 1
                if words < _PASSAGE_WORDS / 2:
                    half = end
            self.passages.append((start, end))
            if end >= len(self.units):
                break
            start = max(half, start + 1)
        self.postings: dict[str, list[tuple[int, int]]] = {}
        self.lengths: list[int] = []
        for number, (first, last) in enumerate(self.passages):
            counts: Counter[str] = Counter()
            for unit in range(first, last):
                counts.update(self.unit_terms[unit])
            self.lengths.append(sum(counts.values()))
            for term, count in counts.items():
                self.postings.setdefault(term, []).append((number, count))
        total = len(self.passages) or 1
        self.average_length = (sum(self.lengths) / total) or 1.0
        self.idf = {
            term: math.log(1 + (total - len(posts) + 0.5) / (len(posts) + 0.5))
            for term, posts in self.postings.items()
        }
        # A query term the manual never uses weighs as much as the rarest possible term.
        self.unknown_idf = math.log(1 + (total + 0.5) / 0.5)

    def term_idf(self, term: str) -> float:
        return self.idf.get(term, self.unknown_idf)

    def wanted(self, weights: dict[str, float]) -> float:
        """The weighted idf a passage would need to hold the whole question.

        A number the manual never prints ("tune to 442 Hz") is a value the customer chose, not
        a topic the manual lacks, so it does not count against the evidence.
        """
        return (
            sum(
                weight * self.term_idf(term)
                for term, weight in weights.items()
                if term in self.idf or not term.isdigit()
            )
            or 1.0
        )

    def pages_of(self, start: int, end: int) -> tuple[int, ...]:
        return tuple(sorted({page for unit in self.units[start:end] for page in unit.pages}))

    def passage_text(self, passage: int) -> str:
        first, last = self.passages[passage]
        return " ".join(unit.text for unit in self.units[first:last])

    def hit(self, passage: int, *, score: float, weights: dict[str, float]) -> Hit:
        """A ranked passage with its pages and the share of the question it holds."""
        first, last = self.passages[passage]
        present = set().union(*(self.unit_terms[unit] for unit in range(first, last)))
        matched = sum(
            weight * self.idf[term]
            for term, weight in weights.items()
            if term in present and term in self.idf
        )
        return Hit(
            start=first,
            end=last,
            pages=self.pages_of(first, last),
            score=score,
            coverage=matched / self.wanted(weights),
        )

    def search(self, weights: dict[str, float], *, limit: int = 5) -> list[Hit]:
        if not weights or not self.passages:
            return []
        scores: dict[int, float] = {}
        for term, weight in weights.items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for passage, count in self.postings[term]:
                norm = _K1 * (1 - _B + _B * self.lengths[passage] / self.average_length)
                scores[passage] = scores.get(passage, 0.0) + weight * idf * (
                    count * (_K1 + 1) / (count + norm)
                )
        best = sorted(scores, key=lambda passage: (-scores[passage], passage))[:limit]
        return [self.hit(passage, score=scores[passage], weights=weights) for passage in best]

    def rank(self, question: str, weights: dict[str, float], limit: int) -> list[Hit]:
        """The production `Ranker`: the question's weighted terms are all it needs."""
        return self.search(weights, limit=limit)


# Ranks the passages of one index for a question (given as text and as our weighted terms).
Ranker = Callable[[str, dict[str, float], int], list[Hit]]


def _cache_key(manual_id: int, version: int) -> str:
    return f"{INDEX_CACHE_PREFIX}:{manual_id}:{version}"


def get_index(*, manual_id: int, version: int) -> ManualIndex:
    """The index of a manual version, built from its stored pages once and then cached."""
    key = _cache_key(manual_id, version)
    index = cache.get(key)
    if isinstance(index, ManualIndex):
        return index
    from apps.manuals.models import ManualPage

    pages = list(
        ManualPage.objects.filter(manual_id=manual_id)
        .order_by("number")
        .values_list("number", "text")
    )
    index = ManualIndex(manual_id=manual_id, version=version, pages=pages)
    cache.set(key, index)
    return index
