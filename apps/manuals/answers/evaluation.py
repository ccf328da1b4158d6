"""Measure the extractive engine on the labelled QA set over the bundled demo manuals.

The demo files are read with the ingestion's own page readers but without a database, so
the figures depend only on extraction, retrieval and the engine.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.manuals.answers.extractive import compose
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, ManualInfo
from apps.manuals.retrieval import ManualIndex, Ranker, query_weights

# Production's BM25; the bm25s library with its own tokenizer; bm25s fed our tokens.
RANKERS = ("ours", "bm25s", "bm25s-our-tokens")

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
QA_SET = Path(__file__).resolve().parent / "qa_set.json"
REAL_QA_SET = Path(__file__).resolve().parent / "real_qa_set.json"
# Real vendor manuals are never copied into the repository: they sit beside it.
SHARED_MANUALS = Path(__file__).resolve().parents[3].parent / "shared" / "manuals"


def demo_pages(name: str) -> list[tuple[int, str]]:
    """(page number, text) of a demo manual, read the way ingestion reads it."""
    from apps.manuals.extraction.child import _clean, _pages

    path = DEMO_DIR / name
    kind = "html" if path.suffix == ".html" else "pdf"
    _, pages = _pages(kind, str(path), 10_000)
    return [(number, _clean(text)) for number, (_, text) in enumerate(pages, start=1)]


@dataclass
class Report:
    questions: int = 0
    answerable: int = 0
    hit_at_1: int = 0
    hit_at_3: int = 0
    unanswerable: int = 0
    abstained_correctly: int = 0
    answered_without_citation: int = 0
    # The expected page among the pages of the top passage / top three passages, before the
    # engine picks its sentences: the rankers compared on their own.
    passage_hit_at_1: int = 0
    passage_hit_at_3: int = 0
    ranking_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def share(self, count: int, total: int) -> float:
        return count / total if total else 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def make_ranker(name: str, index: ManualIndex) -> Ranker:
    if name not in RANKERS:
        raise ValueError(f"unknown ranker {name!r}; expected one of {RANKERS}")
    if name == "ours":
        return index.rank
    # Only this comparison uses bm25s, so it is a development dependency (`.[dev]`).
    from apps.manuals.retrieval_bm25s import Bm25sRanker

    return Bm25sRanker(index, our_tokens=name == "bm25s-our-tokens")


def evaluate(*, qa_path: Path = QA_SET, ranker: str = "ours") -> Report:
    questions = json.loads(qa_path.read_text(encoding="utf-8"))["questions"]
    indexes: dict[str, tuple[ManualInfo, ManualIndex, Ranker]] = {}
    report = Report()
    for number, item in enumerate(questions):
        name = item["manual"]
        if name not in indexes:
            manual_id = len(indexes) + 1
            info = ManualInfo(
                id=manual_id,
                version=1,
                title=name,
                kind="html" if name.endswith(".html") else "pdf",
                source_url="",
            )
            index = ManualIndex(manual_id=manual_id, version=1, pages=demo_pages(name))
            indexes[name] = (info, index, make_ranker(ranker, index))
        info, index, rank = indexes[name]
        started = time.perf_counter()
        hits = rank(item["question"], query_weights(item["question"]), 3)
        ranked_at = time.perf_counter()
        answer = compose(manual=info, index=index, question=item["question"], ranker=rank)
        report.ranking_ms.append((ranked_at - started) * 1000)
        report.answer_ms.append((time.perf_counter() - ranked_at) * 1000)
        expected = set(item["expected_pages"])
        cited = [citation["page"] for citation in answer.citations]
        report.questions += 1
        if answer.state == ANSWERED and not cited:
            report.answered_without_citation += 1
        if not expected:
            report.unanswerable += 1
            if answer.state == NOT_IN_MANUAL:
                report.abstained_correctly += 1
            else:
                report.misses.append({"n": number, **item, "answer": answer.text, "cited": cited})
            continue
        report.answerable += 1
        if hits and expected.intersection(hits[0].pages):
            report.passage_hit_at_1 += 1
        if any(expected.intersection(hit.pages) for hit in hits):
            report.passage_hit_at_3 += 1
        # Citations come in page order; rank them by the order the answer first cites them.
        ranked = _citation_rank(answer.text, cited)
        if ranked[:1] and ranked[0] in expected:
            report.hit_at_1 += 1
        if expected.intersection(ranked[:3]):
            report.hit_at_3 += 1
        else:
            report.misses.append({"n": number, **item, "answer": answer.text, "cited": cited})
    return report


def _citation_rank(text: str, pages: list[int]) -> list[int]:
    from apps.manuals.answers.types import marker_pages

    ranked: list[int] = []
    for _, named in marker_pages(text):
        for page in named:
            if page in pages and page not in ranked:
                ranked.append(page)
    return ranked
