"""The labelled set over the real vendor manuals is well-formed and shaped as the issue asks."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from apps.devtools.evaluation.answers import REAL_QA_SET, SHARED_MANUALS

PRODUCTS = {"plaits", "marbles", "beads", "n32b"}
_HEBREW = re.compile(r"[\u0590-\u05ff]")


@pytest.fixture(scope="module")
def real_set() -> dict[str, Any]:
    return json.loads(REAL_QA_SET.read_text(encoding="utf-8"))


def _answerable(item: dict[str, Any]) -> bool:
    return item.get("answerable", True)


def test_it_carries_the_license_of_the_manuals_it_quotes(real_set) -> None:
    assert "CC BY-SA 3.0" in real_set["license"]
    assert "Émilie Gillet" in real_set["attribution"]
    assert "CC0" in real_set["attribution"]


def test_ids_are_unique_and_every_item_has_the_fields_it_needs(real_set) -> None:
    questions = real_set["questions"]
    ids = [item["id"] for item in questions]
    assert len(ids) == len(set(ids))
    for item in questions:
        assert item["product"] in PRODUCTS, item
        assert item["lang"] in {"en", "he"}, item
        assert item["question"].strip(), item
        assert item["split"] in {"tune", "heldout"}, item
        if _answerable(item):
            assert item["acceptable"], item
        else:
            assert item["answerable"] is False and "acceptable" not in item, item
        if "previous" in item:
            assert item["previous"]["question"].strip(), item


def test_the_language_label_matches_the_script_of_the_question(real_set) -> None:
    for item in real_set["questions"]:
        assert bool(_HEBREW.search(item["question"])) == (item["lang"] == "he"), item


def test_it_has_enough_answerable_unanswerable_hebrew_and_follow_up_questions(real_set) -> None:
    questions = real_set["questions"]
    answerable = [item for item in questions if _answerable(item)]
    unanswerable = [item for item in questions if not _answerable(item)]
    assert len(answerable) >= 80
    assert len(unanswerable) >= 20
    assert {item["lang"] for item in unanswerable} == {"en", "he"}
    hebrew = sum(item["lang"] == "he" for item in questions) / len(questions)
    assert 0.28 <= hebrew <= 0.45
    assert sum("previous" in item for item in questions) >= 4
    assert Counter(item["product"] for item in unanswerable).keys() == PRODUCTS


def test_the_held_out_fifth_follows_its_rule_and_spans_products_and_languages(real_set) -> None:
    questions = real_set["questions"]
    heldout = [item for item in questions if item["split"] == "heldout"]
    for item in questions:
        is_fifth = int(item["id"].removeprefix("q")) % 5 == 0
        assert (item["split"] == "heldout") == is_fifth, item
    assert abs(len(heldout) - len(questions) / 5) <= 1
    assert {item["product"] for item in heldout} == PRODUCTS
    assert {item["lang"] for item in heldout} == {"en", "he"}
    assert any(not _answerable(item) for item in heldout)


def test_every_acceptable_page_is_a_page_of_a_document_of_the_product(real_set) -> None:
    products = real_set["products"]
    assert set(products) == PRODUCTS
    for item in real_set["questions"]:
        documents = products[item["product"]]["documents"]
        for acceptable in item.get("acceptable", []):
            assert acceptable["document"] in documents, item
            assert 1 <= acceptable["page"] <= documents[acceptable["document"]], item


@pytest.mark.skipif(not SHARED_MANUALS.is_dir(), reason=f"no real manuals in {SHARED_MANUALS}")
def test_the_page_counts_in_the_set_are_those_of_the_real_pdfs(real_set) -> None:
    import pypdfium2

    for product in real_set["products"].values():
        for name, pages in product["documents"].items():
            document = pypdfium2.PdfDocument(str(Path(SHARED_MANUALS) / name))
            try:
                assert len(document) == pages, name
            finally:
                document.close()
