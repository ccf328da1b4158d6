from __future__ import annotations

import re

import pytest

from apps.devtools.evaluation.answers import demo_pages, evaluate
from apps.manuals.answers import extractive
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, ManualInfo
from apps.manuals.retrieval import ManualIndex

PDF = ManualInfo(id=7, version=1, title="LX-88 manual", kind="pdf", source_url="")


@pytest.fixture(scope="module")
def lx88() -> tuple[ManualIndex, dict[int, str]]:
    pages = demo_pages("lumenvale-lx-88.pdf")
    return ManualIndex(manual_id=7, version=1, pages=pages), dict(pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _claims(answer) -> list[str]:
    """The quoted pieces of an answer (the framing "According to ..." pieces left out)."""
    return [piece for piece in answer.pieces if not piece.strip().startswith("According to")]


def test_it_answers_numbered_steps_in_manual_order_citing_the_passage_once(lx88) -> None:
    index, _ = lx88
    answer = extractive.compose(manual=PDF, index=index, question="How do I do a factory reset?")
    assert answer.state == ANSWERED
    assert answer.pieces[0] == "According to LX-88 manual:\n"
    steps = re.findall(r"^(\d)\. ", answer.text, flags=re.MULTILINE)
    assert steps[:4] == ["1", "2", "3", "4"]
    first = _claims(answer)[0]
    assert first.count("[p. 22]") == 1 and first.endswith("[p. 22]")


def test_every_claim_is_quoted_from_the_cited_page(lx88) -> None:
    index, pages = lx88
    answer = extractive.compose(manual=PDF, index=index, question="How do I update the firmware?")
    for piece in _claims(answer):
        claim, page = re.fullmatch(r"\s*(.*) \[p\. (\d+)\]", piece, flags=re.DOTALL).groups()
        # Lines and the parts either side of an ellipsis are each printed as quoted.
        for part in re.split(r"\n| … ", claim):
            assert _flat(part) in _flat(pages[int(page)])


def test_it_abstains_when_the_manual_does_not_cover_the_question(lx88) -> None:
    index, _ = lx88
    answer = extractive.compose(
        manual=PDF, index=index, question="Can I connect it to my phone over Bluetooth?"
    )
    assert answer.state == NOT_IN_MANUAL
    assert answer.citations == []
    assert "does not cover" in answer.text


def test_a_notice_does_not_pad_an_answer() -> None:
    pages = [
        (1, "Saving sounds\nHold SAVE and press a pad to store the current sound on that pad."),
        (
            2,
            "Help and compliance\nStored sounds and how to store a sound are described online; "
            "refer to it for the compliance of the sound module with EMC directives.",
        ),
    ]
    index = ManualIndex(manual_id=8, version=1, pages=pages)
    answer = extractive.compose(manual=PDF, index=index, question="how do I store a sound?")
    assert answer.state == ANSWERED
    assert [citation["page"] for citation in answer.citations] == [1]


def test_citations_open_the_stored_pdf_at_the_cited_page(lx88) -> None:
    index, _ = lx88
    answer = extractive.compose(manual=PDF, index=index, question="How long is the warranty?")
    assert answer.citations
    for citation in answer.citations:
        assert citation["manual_id"] == 7
        assert citation["url"] == f"/manuals/7/document#page={citation['page']}"
        assert citation["snippet"]


def test_citations_of_an_html_manual_link_to_its_source_page() -> None:
    html = ManualInfo(id=3, version=1, title="HX-2", kind="html", source_url="https://x.test/hx2")
    assert html.citation(page=4, snippet="s")["url"] == "https://x.test/hx2"
    stored_only = ManualInfo(id=3, version=1, title="HX-2", kind="html", source_url="")
    assert stored_only.citation(page=4, snippet="s")["url"] == "/manuals/3/document"


def test_the_labelled_qa_set_meets_the_targets() -> None:
    report = evaluate()
    assert report.answerable >= 30 and report.unanswerable >= 8
    assert report.hit_at_3 / report.answerable >= 0.9
    assert report.abstained_correctly / report.unanswerable >= 0.9
    assert report.answered_without_citation == 0
