"""The real-manual evaluation counts what it says it counts, and runs on the real PDFs."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.devtools.evaluation.answers import (
    REAL_QA_SET,
    SHARED_MANUALS,
    Document,
    RealProduct,
    RealQuestion,
    cited_in_order,
    load_real_set,
    percentile,
    run_real,
    tally,
)
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, Answer, ManualInfo

USER, MIDI = "shik-n32b-user-manual.pdf", "shik-n32b-midi-implementation.pdf"
PRODUCTS = {
    "n32b": RealProduct(key="n32b", name="Shik N32B", brand="Shik", documents={USER: 5, MIDI: 8}),
    "plaits": RealProduct(
        key="plaits",
        name="Mutable Instruments Plaits",
        brand="Mutable Instruments",
        documents={"mutable-plaits.pdf": 12},
    ),
}
DOCUMENTS = {
    "n32b": [
        Document(file=USER, info=ManualInfo(1, 1, USER, "pdf", ""), index=None),
        Document(file=MIDI, info=ManualInfo(2, 1, MIDI, "pdf", ""), index=None),
    ],
    "plaits": [
        Document(
            file="mutable-plaits.pdf",
            info=ManualInfo(3, 1, "mutable-plaits.pdf", "pdf", ""),
            index=None,
        )
    ],
}


def _question(
    id: str, product: str, acceptable: set[tuple[str, int]], *, lang: str = "en", split="tune"
) -> RealQuestion:
    return RealQuestion(
        id=id,
        product=product,
        lang=lang,
        question=f"question {id}",
        split=split,
        acceptable=frozenset(acceptable),
    )


def _answer(*cited: tuple[int, int]) -> Answer:
    """An answer citing (manual id, page) in this order, its citations in page order."""
    pieces = [f"Claim {n}. [p. {page}] " for n, (_, page) in enumerate(cited)]
    citations = [
        {"manual_id": manual, "page": page, "snippet": "", "url": ""}
        for manual, page in sorted(cited, key=lambda pair: pair[1])
    ]
    return Answer(state=ANSWERED, pieces=pieces, citations=citations)


ABSTAINED = Answer(state=NOT_IN_MANUAL, pieces=["The manual does not cover this question."])
CASES = {
    # first citation right: hit@1 and hit@3
    "q1": (_question("q1", "n32b", {(USER, 4)}), _answer((1, 4), (2, 5))),
    # right page of the second document, cited second: hit@3 only
    "q2": (_question("q2", "n32b", {(MIDI, 5)}), _answer((1, 3), (2, 5))),
    # the right page number of the wrong document: no hit
    "q3": (_question("q3", "n32b", {(MIDI, 4)}), _answer((1, 4))),
    # answerable, abstained: a false abstention
    "q4": (_question("q4", "plaits", {("mutable-plaits.pdf", 6)}, lang="he"), ABSTAINED),
    # not in the manuals, answered: a false answer
    "q5": (_question("q5", "plaits", set(), lang="he"), _answer((3, 2))),
    # not in the manuals, abstained: right
    "q6": (_question("q6", "n32b", set()), ABSTAINED),
    # answered without a citation: uncited, and no hit
    "q7": (
        _question("q7", "plaits", {("mutable-plaits.pdf", 3)}),
        Answer(state=ANSWERED, pieces=["Something."]),
    ),
    # the right page cited fourth: not within hit@3
    "q8": (
        _question("q8", "plaits", {("mutable-plaits.pdf", 9)}, lang="he"),
        _answer((3, 12), (3, 2), (3, 5), (3, 9)),
    ),
}


def _fake_ask(asked: list[tuple[str, str, list[str]]]):
    def ask(
        documents: list[Document], question: RealQuestion, exclude: str, vector: object
    ) -> Answer:
        assert vector == f"vector of {question.id} without {exclude}"
        asked.append((question.id, exclude, [document.file for document in documents]))
        return CASES[question.id][1]

    return ask


def _fake_embed(question: RealQuestion, exclude: str) -> str:
    return f"vector of {question.id} without {exclude}"


def test_the_figures_count_hits_abstentions_false_answers_and_uncited_answers() -> None:
    outcomes = run_real(
        [question for question, _ in CASES.values()],
        PRODUCTS,
        DOCUMENTS,
        ask=_fake_ask([]),
        embed=_fake_embed,
    )
    groups = tally(outcomes)
    overall = groups["all"]
    assert (overall.answerable, overall.unanswerable) == (6, 2)
    assert overall.hit_at_1 == 1  # q1
    assert overall.hit_at_3 == 2  # q1, q2
    assert overall.false_abstentions == 1  # q4
    assert overall.false_answers == 1  # q5
    assert overall.answered == 6
    assert overall.uncited == 1  # q7
    assert len(overall.ms) == len(overall.embed_ms) == 8
    assert all(ms >= 0 for ms in overall.ms + overall.embed_ms)

    hebrew = groups["lang:he"]
    assert (hebrew.answerable, hebrew.hit_at_3, hebrew.false_abstentions) == (2, 0, 1)
    assert (hebrew.unanswerable, hebrew.false_answers) == (1, 1)
    n32b = groups["product:n32b"]
    assert (n32b.answerable, n32b.hit_at_1, n32b.hit_at_3, n32b.false_answers) == (3, 1, 2, 0)
    assert list(groups) == ["all", "lang:en", "lang:he", "product:n32b", "product:plaits"]


def test_each_question_is_asked_of_all_its_products_documents_without_its_name() -> None:
    asked: list[tuple[str, str, list[str]]] = []
    run_real(
        [CASES["q1"][0], CASES["q4"][0]],
        PRODUCTS,
        DOCUMENTS,
        ask=_fake_ask(asked),
        embed=_fake_embed,
    )
    assert asked == [
        ("q1", "Shik N32B Shik", [USER, MIDI]),
        ("q4", "Mutable Instruments Plaits Mutable Instruments", ["mutable-plaits.pdf"]),
    ]


def test_citations_are_ranked_by_where_the_answer_first_cites_them() -> None:
    answer = _answer((2, 7), (1, 3), (2, 7), (2, 1))
    assert cited_in_order(answer, DOCUMENTS["n32b"]) == ((MIDI, 7), (USER, 3), (MIDI, 1))


def test_percentiles_pick_the_value_at_the_share_of_the_sorted_list() -> None:
    values = [float(n) for n in range(100, 0, -1)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (51.0, 96.0)
    assert percentile([], 0.5) == 0.0


def _write_set(tmp_path: Path, questions: list[dict], *, only: str | None = None) -> Path:
    data = json.loads(REAL_QA_SET.read_text(encoding="utf-8"))
    data["questions"] = questions
    if only:
        data["products"] = {only: data["products"][only]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_page_the_document_does_not_have_is_refused_by_name(tmp_path: Path) -> None:
    question = {
        "id": "x1",
        "product": "n32b",
        "lang": "en",
        "question": "reset?",
        "split": "tune",
        "acceptable": [{"document": USER, "page": 6}],
    }
    with pytest.raises(ValueError, match=r"x1: no page 6 in shik-n32b-user-manual\.pdf"):
        load_real_set(_write_set(tmp_path, [question]))


def test_the_command_says_which_manuals_are_missing(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"mutable-plaits\.pdf"):
        call_command("eval_answers", "--set", "real", "--manuals", str(tmp_path), stdout=StringIO())


@pytest.mark.skipif(not SHARED_MANUALS.is_dir(), reason=f"no real manuals in {SHARED_MANUALS}")
def test_the_real_manuals_are_extracted_indexed_and_asked_end_to_end(tmp_path: Path) -> None:
    questions = [
        {
            "id": "e1",
            "product": "n32b",
            "lang": "en",
            "question": "How do I reset the Shik N32B to its factory defaults?",
            "split": "tune",
            "acceptable": [{"document": USER, "page": 4}],
        },
        {
            "id": "e2",
            "product": "n32b",
            "lang": "en",
            "question": "What is the SHIK manufacturer ID in N32B SysEx messages?",
            "split": "heldout",
            "acceptable": [{"document": MIDI, "page": 3}],
        },
    ]
    # One product, two small documents: embedding every manual would make a slow test.
    qa = _write_set(tmp_path, questions, only="n32b")
    out = StringIO()
    call_command(
        "eval_answers",
        "--set",
        "real",
        "--qa",
        str(qa),
        "--manuals",
        str(SHARED_MANUALS),
        stdout=out,
    )
    printed = out.getvalue()
    assert "documents: 2," in printed
    for split in ("tune", "heldout"):
        section = printed.split(f"split {split}: ")[1].split("\n\n")[0]
        assert section.startswith("1 questions (1 answerable, 0 not in the manuals)")
        rows = {line.split()[0]: line.split()[1:] for line in section.splitlines()[2:]}
        assert set(rows) == {"all", "lang:en", "product:n32b"}
        # n, hit@1, hit@3, false abstention, false answers, uncited
        assert rows["all"][:6] == ["1", "100%", "100%", "0%", "0/0", "0"]
