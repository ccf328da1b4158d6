from __future__ import annotations

import pytest

from apps.manuals import retrieval
from apps.manuals.retrieval import ManualIndex, query_weights, split_units, tokens
from apps.manuals.tests.demo_data import ready_manual


def test_a_passage_crossing_a_page_boundary_cites_both_pages() -> None:
    pages = [
        (1, "Recording. " + " ".join(f"Filler sentence number {n}." for n in range(20))),
        (2, "To save a loop, hold REC for two seconds. The loop is kept in memory."),
    ]
    index = ManualIndex(manual_id=1, version=1, pages=pages)
    hits = index.search(query_weights("filler save loop REC"), limit=10)
    assert any(hit.pages == (1, 2) for hit in hits)


def test_a_sentence_broken_by_a_page_break_cites_both_pages() -> None:
    pages = [
        (4, "Intro line.\nTo erase every song, hold REC and PLAY together"),
        (5, "for two seconds until the display asks.\nNext topic."),
    ]
    units = split_units(pages)
    broken = [unit for unit in units if unit.text.startswith("To erase")]
    assert broken[0].pages == (4, 5)
    assert broken[0].text.endswith("until the display asks.")


def test_running_headers_repeated_on_every_page_are_not_indexed() -> None:
    pages = [(n, f"Lumenvale Owner's Manual\nTopic {n} text about item{n}.") for n in range(1, 7)]
    units = split_units(pages)
    assert all("Owner's Manual" not in unit.text for unit in units)


def test_regulatory_notices_are_boilerplate_and_the_warranty_is_not() -> None:
    pages = [
        (
            1,
            "Saving presets\nHold SHIFT and press a pad to save the current sound.\n"
            "It is a class compliant USB MIDI device: no driver is needed.",
        ),
        (
            2,
            "Please refer to the online manual for detailed information regarding compliance "
            "with EMC directives.\nThe warranty covers manufacturing defects for two years.",
        ),
    ]
    marked = {unit.text[:20]: unit.boilerplate for unit in split_units(pages)}
    assert marked["Please refer to the "] is True
    assert marked["The warranty covers "] is False
    assert marked["Hold SHIFT and press"] is False
    assert marked["It is a class compli"] is False


def test_model_numbers_stay_whole_and_weigh_double() -> None:
    assert "lx88" in tokens("the LX-88 and the LX88")
    assert tokens("LX-88").count("lx88") == 1
    weights = query_weights("What does error E-05 mean?")
    assert weights["e05"] == 2.0
    assert weights["error"] == 1.0


@pytest.mark.django_db
def test_the_second_question_on_a_manual_version_does_no_reindexing(
    django_assert_num_queries: object,
) -> None:
    manual = ready_manual()
    first = retrieval.get_index(manual_id=manual.pk, version=manual.version)
    with django_assert_num_queries(0):  # type: ignore[operator]
        second = retrieval.get_index(manual_id=manual.pk, version=manual.version)
    assert second is first
    assert retrieval.get_index(manual_id=manual.pk, version=manual.version + 1) is not first
