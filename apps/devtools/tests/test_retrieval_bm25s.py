from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.devtools.evaluation.answers import make_ranker
from apps.manuals.answers import extractive
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, ManualInfo
from apps.manuals.retrieval import ManualIndex, query_weights

PAGES = [
    (1, "Safety. Keep the instrument away from water and direct sunlight."),
    (2, "Looper. To save a loop, hold REC for two seconds. Saved loops stay in memory."),
    (3, "Tuning. Press TUNE and play a string; the display shows the pitch."),
]


@pytest.mark.parametrize("name", ["bm25s", "bm25s-our-tokens"])
def test_the_bm25s_ranker_ranks_our_passages_with_their_pages(name: str) -> None:
    index = ManualIndex(manual_id=1, version=1, pages=PAGES)
    question = "How do I save a loop?"
    hits = make_ranker(name, index)(question, query_weights(question), 3)
    assert hits, "bm25s found no passage"
    assert 2 in hits[0].pages
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert hits[0].coverage > 0
    # The same passages as ours: a hit is one of the index's passages.
    assert all((hit.start, hit.end) in index.passages for hit in hits)


def test_the_engine_answers_from_passages_bm25s_ranked() -> None:
    index = ManualIndex(manual_id=1, version=1, pages=PAGES)
    manual = ManualInfo(id=1, version=1, title="Demo", kind="pdf", source_url="")
    answer = extractive.compose(
        manual=manual,
        index=index,
        question="How do I save a loop?",
        ranker=make_ranker("bm25s", index),
    )
    assert answer.state == ANSWERED
    assert [citation["page"] for citation in answer.citations] == [2]
    # The ranker given is the one used: one that finds nothing makes the engine abstain.
    silent = extractive.compose(
        manual=manual, index=index, question="How do I save a loop?", ranker=lambda *_: []
    )
    assert silent.state == NOT_IN_MANUAL


def test_an_unknown_ranker_is_refused() -> None:
    index = ManualIndex(manual_id=1, version=1, pages=PAGES)
    with pytest.raises(ValueError, match="unknown ranker"):
        make_ranker("tf-idf", index)


def test_eval_answers_prints_the_figures_of_every_ranker(tmp_path: Path) -> None:
    qa = tmp_path / "qa.json"
    qa.write_text(
        json.dumps(
            {
                "questions": [
                    {
                        "manual": "lumenvale-lx-88.pdf",
                        "question": "How much does the piano weigh?",
                        "expected_pages": [3, 25],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    out = StringIO()
    call_command("eval_answers", "--qa", str(qa), "--ranker", "all", stdout=out)
    printed = out.getvalue()
    for name in ("ours", "bm25s", "bm25s-our-tokens"):
        assert f"ranker: {name}\n" in printed
    assert printed.count("passage hit@1 / hit@3") == 3
    assert printed.count("ranking per query: p50") == 3
