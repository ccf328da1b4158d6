"""Structured passages, terms, fusion, abstention, framing, the stored index and embeddings."""

from __future__ import annotations

import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings

from apps.manuals.answers import extractive
from apps.manuals.answers.framing import document_list
from apps.manuals.answers.types import (
    ANSWERED,
    NOT_IN_MANUAL,
    SNIPPET_CHARS,
    ManualInfo,
    shortened,
)
from apps.manuals.embeddings import EmbeddingError, OpenAIEmbedder
from apps.manuals.retrieval import store
from apps.manuals.retrieval.index import ManualIndex
from apps.manuals.retrieval.search import (
    answerable,
    bridged_terms,
    build_query,
    rank,
    uses_context,
)
from apps.manuals.retrieval.structure import HEADING, ITEM, ROW, STEP, split_units
from apps.manuals.retrieval.text import (
    detect_language,
    hebrew_words,
    query_weights,
    tokens,
    without_names,
)
from apps.manuals.tests.conftest import make_pdf

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "manuals"
LOCALE = Path(settings.BASE_DIR) / "locale"

RESET_PAGES = [
    (
        9,
        "Restoring the Factory Settings\nThis erases every preset.\n"
        "1. Switch the unit off.\n2. Hold WRITE and switch it on.\n3. Release WRITE when the "
        "display shows rSt.\nMemory\nYou can store a total of four sounds in the memory.",
    ),
    (
        10,
        "Parameter Description Range\nTempo Beats per minute 40-240\n"
        "Swing Shuffle amount 0-100\nConnecting\nConnect the pedal to the FOOT jack.",
    ),
]
INFO = ManualInfo(id=1, version=1, title="KT-50 Owner's Manual", kind="pdf", source_url="")


class FakeEmbedder:
    """Bag-of-words vectors: enough to test the plumbing without the model.

    A term's dimension comes from a stable hash: with `hash()` it changed with each process's
    PYTHONHASHSEED, and seeds that put two of the tests' terms in one dimension failed them."""

    name = "fake"

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(64, dtype=np.float32)
        for term in tokens(text):
            vector[zlib.crc32(term.encode()) % 64] += 1.0  # hash() differs per process
        return vector / (np.linalg.norm(vector) or 1.0)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vector(text) for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vector(text) for text in texts])


def test_a_printed_pointer_to_the_next_page_is_not_part_of_the_text() -> None:
    page = "Controls\nM. Controls how the outputs react to the knobs (>continues on next page).\n"
    (item,) = [unit for unit in split_units([(9, page)]) if unit.kind == ITEM]
    assert item.text == "M. Controls how the outputs react to the knobs."


def test_a_heading_titles_the_steps_under_it_and_rows_keep_their_header() -> None:
    units = split_units(RESET_PAGES)
    kinds = {unit.text: unit for unit in units}
    heading = kinds["Restoring the Factory Settings"]
    assert heading.kind == HEADING
    step = kinds["2. Hold WRITE and switch it on."]
    assert step.kind == STEP and units[step.section] is heading
    row = kinds["Swing Shuffle amount 0-100"]
    assert row.kind == ROW and units[row.label].text == "Parameter Description Range"


def test_a_table_row_whose_first_cell_wrapped_stays_one_row() -> None:
    # As the Beads manual prints its buffer table: the last row's first cell on two lines,
    # then bullets and prose that belong to the section above the table.
    page = (
        "Recording quality\nQuality is chosen with the selector button [A].\n"
        "LED Quality Rate Resolution Mono Stereo\nBright digital 48 kHz 16-bit 8s 4s\n"
        "Sunny tape 24 kHz 12-bit 20s 10s\nScorched\ncassette\n24 kHz 8-bit 32s 16s\n"
        "• The Scorched cassette setting emulates wow and flutter.\n"
    )
    units = split_units([(4, page)])
    kinds = {unit.text: unit for unit in units}
    row = kinds["Scorched cassette 24 kHz 8-bit 32s 16s"]
    assert row.kind == ROW and units[row.section].text == "Recording quality"
    bullet = kinds["• The Scorched cassette setting emulates wow and flutter."]
    assert units[bullet.section].text == "Recording quality"
    # The next table's title and header row are not a wrapped cell, though their words add up
    # to a row of the table before (as the N32B MIDI implementation prints them).
    titled = split_units(
        [
            (
                5,
                "Knob 1 Control Change 16 0x10 0001 0000\nOutputs Table\n"
                "Output Description Base 10 Hexadecimal Binary\nUSB MIDI 0 0x00 0000",
            )
        ]
    )
    assert "Outputs Table" in [unit.text for unit in titled]


def test_labels_printed_inside_a_sentence_stay_in_it() -> None:
    # As pdfium reads the Marbles manual: output names in another font on lines of their
    # own, the punctuation after them at the start of the next line.
    page = (
        "Random gates\nThe t generator makes a jittery master clock (which is output on t2\n"
        ") and two streams of gates.\nD. Gates are more likely to occur on t1\n or \nt3\n"
        ". BIAS controls the fairness.\n• When the X section is not externally clocked, \n"
        "X1\n, X2\n and X3\n are independent from each other.\nA\nB\n"
    )
    texts = [unit.text for unit in split_units([(5, page)])]
    assert "The t generator makes a jittery master clock (which is output on t2) and two" in (
        " ".join(texts)
    )
    assert "D. Gates are more likely to occur on t1 or t3. BIAS controls the fairness." in texts
    assert any("not externally clocked, X1, X2 and X3 are independent" in t for t in texts)
    assert "A" not in texts and "B" not in texts  # diagram labels after the text stay out


def test_a_callout_keeps_its_label_and_rotated_scraps_are_dropped() -> None:
    page = "Controls\nB. Coarse frequency control. By default, it covers 8 octaves.\n" + "\n".join(
        ["tio", "rvi", "ele", "din", "sin"]
    )
    units = split_units([(3, page)])
    assert units[1].kind == ITEM
    assert units[1].text.startswith("B. Coarse frequency control. By default")
    assert all(len(unit.text) > 4 for unit in units)


def test_a_sentence_goes_on_after_a_semicolon_at_a_line_s_end() -> None:
    # Marbles, page 7: the second half of item E. F. had been quoted alone, "or cycle ...".
    page = (
        "Controls\nE. F. These buttons apply DEJA VU to t or X. For example, a looping\n"
        "rhythm (t enabled, X disabled);\nor cycle through the same voltages (t disabled).\n"
    )
    texts = [unit.text for unit in split_units([(7, page)])]
    assert any(
        text.endswith("(t enabled, X disabled); or cycle through the same voltages (t disabled).")
        for text in texts
    )
    assert not any(text.startswith("or cycle") for text in texts)


def test_a_panel_drawing_s_callout_markers_are_no_text() -> None:
    # The Marbles manual's page 10 is a drawing whose only text is its callouts, N, 6, 5,
    # 7 and M, which pdfium gives as "N" and "657M".
    assert split_units([(10, "N\n657M")]) == []
    units = split_units([(4, "Octave range\nC0 +/- 7\n657M\nClock ratios\n1/16 1/8")])
    assert [unit.text for unit in units] == ["Octave range", "C0 +/- 7", "Clock ratios", "1/16 1/8"]


def test_a_cover_and_a_table_of_contents_are_dropped_as_page_furniture() -> None:
    # As the N32B user manual reads: a title-only cover, then contents in rotated letters
    # with lines of titles and page numbers between them.
    contents = "\n".join(
        ["In", "t", "r", "o", "rvicin", "3 Initial Setup 3 Connecting to Your Device 3"]
    )
    contents += "\n" + "\n".join(["S", "e", "cific", "a", "tio", "n", "s", "5"])
    pages = [(1, "User Manual"), (2, contents), (3, "Initial Setup\nConnect the USB cable first.")]
    assert [unit.text for unit in split_units(pages)] == [
        "Initial Setup",
        "Connect the USB cable first.",
    ]
    # A short first page that says something is kept.
    assert split_units([(1, "Hold WRITE to reset."), *pages[1:]])[0].text == "Hold WRITE to reset."
    # Past the first pages a line of names and numbers is a table row, not contents.
    later = [*pages, (4, "Factory values"), (5, "Level 5 Tone 7\nBoth set at the factory.")]
    assert any("Level 5 Tone 7" in unit.text for unit in split_units(later))


def test_a_question_matching_a_heading_is_answered_with_the_steps_under_it() -> None:
    index = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    answer = extractive.compose(
        documents=[(INFO, index)], question="how do I restore the factory settings?"
    )
    assert answer.state == ANSWERED
    assert "1. Switch the unit off." in answer.text and "3. Release WRITE" in answer.text
    assert answer.text.count("[p. 9]") == 1


HARD_RESET = (
    "Performing a Hard Reset\nTo reset the device to factory defaults, disconnect it from USB "
    "power, press and hold the upper button, then connect the USB cable while still holding "
    "the button. Release after 5 seconds once a reset animation appears on the display. Note: "
    "This will delete all presets stored on the device.\nTroubleshooting\n"
)


def test_a_short_sections_instruction_is_quoted_on_to_its_end() -> None:
    # As the N32B user manual prints it: the sentence that matches is the first of three.
    index = ManualIndex(manual_id=1, version=1, pages=[(4, HARD_RESET + "Use the cable.")])
    answer = extractive.compose(documents=[(INFO, index)], question="how to reset to factory?")
    assert answer.state == ANSWERED
    assert "Release after 5 seconds" in answer.text and "delete all presets" in answer.text
    assert "Use the cable" not in answer.text  # the next section is not part of it


def _answered(page_number: int, page: str, question: str) -> str:
    """The text of the answer a one-page manual gives `question` (it must answer it)."""
    index = ManualIndex(manual_id=1, version=1, pages=[(page_number, page)])
    answer = extractive.compose(documents=[(INFO, index)], question=question)
    assert answer.state == ANSWERED
    return answer.text


def test_an_item_ending_on_a_colon_is_quoted_with_its_bullets() -> None:
    # As Plaits' inputs are printed: numbered callouts, one with bullets under it.
    page = (
        "Inputs and Outputs\n1. Model selection CV input. Selects the model.\n"
        "2. Trigger input. Serves three percussive purposes:\n"
        "• Triggers the internal envelope.\n• Excites the physical models.\n"
        "• Strikes the internal low-pass gate.\n3. Level input. Opens the low-pass gate.\n"
    )
    text = _answered(5, page, "what is the trigger input for")
    assert "Serves three percussive purposes:\n• Triggers the internal envelope." in text
    assert "• Strikes the internal low-pass gate." in text


def test_a_lead_sentence_ending_on_a_colon_is_quoted_with_its_bullets() -> None:
    # As Plaits prints its LPG settings: the matching sentence leads a long section.
    filler = " ".join(f"The LED shows setting {n} in yellow." for n in range(12))
    page = (
        "Adjusting the internal LPG and envelope\nHold the first button (A) and:\n"
        "• Turn the TIMBRE knob to adjust the response of the LPG.\n"
        "• Turn the MORPH knob to adjust the decay time of the envelope.\n"
        f"{filler}\n"
    )
    text = _answered(6, page, "hold first button and then?")
    assert "Hold the first button (A) and:\n• Turn the TIMBRE knob" in text
    assert "• Turn the MORPH knob" in text


def test_a_tables_header_row_is_quoted_with_the_rows_under_it() -> None:
    # As Beads prints its buffer lengths: the table's title is the only line a question on
    # "buffer length" matches.
    page = (
        "Recording quality\nRecording quality is chosen with the selector button.\n"
        "Buffer length\nLED Quality Rate Mono Stereo\nBright digital 48 kHz 8s 4s\n"
        "Cold digital 32 kHz 16s 8s\nSunny tape 24 kHz 20s 10s\n"
        "• The Sunny tape setting runs the dry signal at 48kHz.\n"
    )
    text = _answered(4, page, "buffer length in stereo?")
    assert "Buffer length\nLED Quality Rate Mono Stereo\nBright digital 48 kHz 8s 4s" in text
    assert "Sunny tape 24 kHz 20s 10s" in text
    assert "dry signal" not in text  # the list after the table is not part of it
    # The page's citation quotes the rows, not the title alone (nor the answer's framing).
    index = ManualIndex(manual_id=1, version=1, pages=[(4, page)])
    answer = extractive.compose(documents=[(INFO, index)], question="buffer length in stereo?")
    (citation,) = answer.citations
    assert citation["snippet"].startswith("Buffer length LED Quality Rate Mono Stereo Bright")


def test_a_citation_quotes_up_to_a_words_end() -> None:
    text = "Beads records continuously " * 20
    quoted = shortened(text)
    assert len(quoted) <= SNIPPET_CHARS and quoted.endswith("…")
    assert quoted[:-1].split()[-1] in ("Beads", "records", "continuously")
    assert shortened("short") == "short"
    # Cut just after a sentence: the mark stands apart from its full stop.
    sentence = shortened("x" * (SNIPPET_CHARS - 10) + " done. " + "y" * 30)
    assert sentence.endswith(" done. …") and len(sentence) <= SNIPPET_CHARS


def test_a_long_sections_sentence_is_quoted_alone() -> None:
    filler = " ".join(f"The display shows value {n} at step {n}." for n in range(12))
    page = HARD_RESET.replace("Note:", f"{filler} Note:")
    index = ManualIndex(manual_id=1, version=1, pages=[(4, page)])
    answer = extractive.compose(documents=[(INFO, index)], question="how to reset to factory?")
    assert "disconnect it from USB power" in answer.text
    assert "delete all presets" not in answer.text


def test_the_snowball_stemmer_and_hebrew_words_with_their_prefixes() -> None:
    assert tokens("saving saved saves") == ["save"] * 3
    # "ok" is no topic: a word no manual has would count as one it lacks ("not covered").
    assert set(query_weights("ok so how do I get new notes")) == {"new", "note"}
    assert set(query_weights("אוקיי אז איך מאפסים")) == set(query_weights("איך מאפסים"))
    assert "לולאה" in tokens("והלולאה")  # "and the loop": the prefixes vav and he dropped
    assert "והלולאה" in tokens("והלולאה")
    assert detect_language("איך עושים factory reset?") == "he"
    assert detect_language("how do I reset it") == "en"


@pytest.mark.parametrize(
    "question",
    ["katana 50 mk2 ex reverb", "Katana-50 MkII EX reverb", "katana mk 2 reverb", "mkii ex reverb"],
)
def test_the_product_name_as_customers_write_it_is_not_a_question_word(question: str) -> None:
    weights = query_weights(question, exclude=["Katana-50 MkII EX", "BOSS", "KTN50MK2EX"])
    assert set(weights) == {"reverb"}


def test_the_product_name_with_a_slip_is_not_a_question_word() -> None:
    exclude = ["Marbles", "Mutable Instruments"]
    assert set(query_weights("marbels how do i lock a loop", exclude=exclude)) == {"lock", "loop"}
    # A word of its own a letter away from the name stays a question word.
    assert "beat" in query_weights("sync beads to the beats", exclude=["Beads", "Mutable"])


def test_the_product_name_in_hebrew_letters_is_not_a_question_word() -> None:
    weights = query_weights("איך משנים מודל בפלייטס", exclude=["Plaits", "Mutable Instruments"])
    assert not any("פלייטס" in term for term in weights)
    assert "משנימ" in weights or "משנים" in weights
    assert hebrew_words("קטנה 50 עם ריוורב", exclude=["Katana-50 MkII", "BOSS"]) == ["ריוורב"]


def test_a_hebrew_stop_word_behind_prefix_letters_is_still_a_stop_word() -> None:
    # "ואיך" is "and how", "שיש" "that there is", "בזה" "with this".
    assert set(query_weights("ואיך טוענים את זה?")) == {"טוענים"}
    assert query_weights("שיש בזה") == {}
    assert hebrew_words("ואיך טוענים שיש") == ["טוענים"]


def test_words_typed_without_their_apostrophe_are_stop_words() -> None:
    assert set(query_weights("whats the tempo, it doesnt change and i cant hear it")) == {
        "tempo",
        "chang",
    }


def test_a_misspelled_or_abbreviated_word_is_read_as_the_manuals_word() -> None:
    pages = [(3, "Frequency range\nThe knob covers eight different octaves by default.")]
    index = ManualIndex(manual_id=1, version=1, pages=pages)
    assert index.spelled("freq") == "frequenc"  # an abbreviation: the word's start
    assert index.spelled("diffrent") == "differ"  # one edit
    assert index.spelled("ocatves") == "octav"  # two letters swapped
    # Short words get no edit ("cover" is not "hover"), and a word far from every word of
    # the manual is still a word the manual does not have.
    assert index.spelled("hover") is None
    assert index.spelled("bluetooth") is None
    answer = extractive.compose(
        documents=[(INFO, index)], question="diffrent freq range?", query_vector=None
    )
    assert answer.state == ANSWERED and "[p. 3]" in answer.text
    assert (
        extractive.compose(
            documents=[(INFO, index)], question="bluetooth range?", query_vector=None
        ).state
        == NOT_IN_MANUAL
    )


def test_the_products_name_is_left_out_of_the_text_that_is_embedded(settings) -> None:
    names = ["Plaits", "Mutable Instruments"]
    assert without_names("plaits how do I change the model?", exclude=names) == (
        "how do I change the model?"
    )
    assert without_names("מה עושה כניסת ה-TRIG בפלייטס?", exclude=names) == (
        "מה עושה כניסת ה-TRIG ?"
    )
    assert without_names("Mutable Plaits?", exclude=names) == "Mutable Plaits?"  # nothing else
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EMBEDDINGS_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings.EMBEDDINGS_MODEL = "e5-names-test"
    try:
        assert store.embed_question("plaits how do I change the model", exclude=names) is not None
    finally:
        server.shutdown()
    sent = [text for _, body in server.requests for text in body["input"]]  # type: ignore[attr-defined]
    assert sent == ["query: how do I change the model"]


@pytest.mark.parametrize("question", ["האם לN32B יש בלוטות'", "האם ב-N32B יש בלוטות'"])
def test_the_product_name_behind_a_hebrew_prefix_is_not_a_question_word(question: str) -> None:
    # "לN32B": Hebrew's prefix letters glue to a Latin name as to any word.
    weights = query_weights(question, exclude=["Shik N32B"])
    assert set(weights) == {"בלוטות", "לוטות", "וטות"}
    # A Latin word behind a prefix that does not name the product stays a question word.
    assert "midi" in query_weights("איך משנים ה-MIDI", exclude=["Shik N32B"])


def test_a_number_next_to_no_name_word_stays_a_question_word() -> None:
    assert "2" in query_weights("can I save 2 sounds", exclude=["Katana-50 MkII EX"])


def test_fusion_ranks_a_passage_found_only_by_meaning_and_multiple_documents() -> None:
    first = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    second = ManualIndex(manual_id=2, version=1, pages=[(1, "SysEx\nSend F0 20 09 F7 to dump.")])
    embedder = FakeEmbedder()
    for index in (first, second):
        index.set_embeddings(embedder.embed_passages(index.embedding_texts()), model="fake")
    query = build_query(question="sysex dump", query_vector=embedder.embed_query("sysex dump"))
    hits = rank([first, second], query, limit=3)
    assert hits[0].document == 1 and hits[0].dense is not None


def test_a_follow_up_retrieves_with_the_previous_turn() -> None:
    index = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    context = "how do I restore the factory settings?\nHold WRITE and switch it on. [p. 9]"
    alone = extractive.compose(documents=[(INFO, index)], question="and then what?")
    followed = extractive.compose(
        documents=[(INFO, index)], question="and then what?", context=context
    )
    assert alone.state == NOT_IN_MANUAL
    assert followed.state == ANSWERED and "[p. 9]" in followed.text


def test_a_short_question_that_names_the_product_again_starts_afresh() -> None:
    index = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    context = "how do I restore the factory settings? Hold WRITE and switch it on."
    fresh = extractive.compose(
        documents=[(INFO, index)],
        question="does the RC-600 have bluetooth",
        context=context,
        exclude=["Boss RC-600"],
    )
    assert fresh.state == NOT_IN_MANUAL
    # Without the name, two words of its own are still read as a follow-up.
    assert uses_context("and bluetooth", {"bluetooth": 1.0}, ["Boss RC-600"])
    assert not uses_context("rc-600 bluetooth", {"bluetooth": 1.0}, ["Boss RC-600"])


def test_a_follow_up_whose_own_words_the_manual_lacks_is_not_answered_from_the_last_turn():
    index = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    context = "how do I restore the factory settings? Hold WRITE and switch it on."
    for question in ("is it in stock?", "does it work on batteries?"):
        asked = extractive.compose(documents=[(INFO, index)], question=question, context=context)
        assert asked.state == NOT_IN_MANUAL, question
    # A word of the manual's own keeps the turn: "it" is still the factory settings.
    assert uses_context("and how long does it take to write?", {"write": 1.0}, (), index.knows)
    assert not uses_context("can I buy it in Tel Aviv?", {"buy": 1.0}, (), index.knows)
    # With none, "that" still points at the last answer (the follow-up test above).
    assert uses_context("and can I undo that?", {"undo": 1.0}, (), index.knows)


def test_a_loanword_in_hebrew_letters_is_the_manuals_word_by_its_sound() -> None:
    pages = [(7, "Sequence\nThe sequence repeats when DEJA VU is at 12 o'clock, with reverb.")]
    index = ManualIndex(manual_id=1, version=1, pages=pages)
    assert index.sounded("סיקוונס") == "sequenc"  # sequence
    assert index.sounded("לריוורב") == "reverb"  # "to the reverb": its prefix off
    # An everyday Hebrew word is Hebrew whatever it sounds like: "בארץ" (in Israel) is not
    # "ratio", and a word no manual word sounds like is none.
    assert index.sounded("בארץ") is None and index.sounded("חוזר") is None
    # No embeddings are needed: a Hebrew question finds the passage through its loanword.
    query = build_query(
        question="איך גורמים לסיקוונס לחזור?",
        query_vector=np.zeros(64, dtype=np.float32),
        foreign=["גורמים", "לסיקוונס", "לחזור"],
        foreign_vectors=np.zeros((3, 64), dtype=np.float32),
    )
    terms, _share = bridged_terms(index, query)
    assert "sequenc" in terms


def _bridged_index() -> tuple[ManualIndex, dict[str, np.ndarray]]:
    """An index whose bridge words have random vectors; returns it and the word vectors."""
    index = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    rows = np.random.default_rng(7).normal(size=(len(index.bridge_words), 64))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    passages = FakeEmbedder().embed_passages(index.embedding_texts())
    index.set_embeddings(passages, model="fake", words=rows)
    return index, dict(zip(index.bridge_words, rows, strict=True))


def test_a_hebrew_word_is_bridged_to_the_manual_word_it_stands_for() -> None:
    index, vectors = _bridged_index()
    near = vectors["store"] + 0.05 * vectors["tempo"]
    stop = vectors["how"]
    unrelated = np.random.default_rng(8).normal(size=64)
    found = index.bridge(np.vstack([near, stop, unrelated]))
    assert found[0][0][0] == "store" and found[0][0][1] == 1.0
    assert found[1][0][0] == "" and found[2] == []
    question = "כמה סאונדים אפשר לשמור?"
    query = build_query(
        question=question,
        query_vector=FakeEmbedder().embed_query("sounds"),
        foreign=["סאונדים", "לשמור"],
        foreign_vectors=np.vstack([unrelated, near]),
    )
    terms, share = bridged_terms(index, query)
    assert set(terms) == {"store"} and 0 < share < 1
    hits = rank([index], query, limit=3)
    assert 9 in hits[0].pages and hits[0].coverage > 0 and answerable(hits)


def test_meaning_alone_never_answers() -> None:
    index, _ = _bridged_index()
    # The passages' vectors all equal the question's: e5 finding an on-topic passage for a
    # question the manual does not answer.
    index.set_embeddings(
        np.tile(FakeEmbedder().embed_query("bluetooth"), (len(index.passages), 1)), model="fake"
    )
    query = build_query(
        question="does it have bluetooth", query_vector=FakeEmbedder().embed_query("bluetooth")
    )
    hits = rank([index], query, limit=3)
    assert hits and hits[0].coverage == 0 and not answerable(hits)


@pytest.fixture(scope="module")
def hebrew_catalogue() -> None:
    po = LOCALE / "he" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        # What `make messages` does, for a run that did not go through make.
        with po.open("rb") as source, mo.open("wb") as target:
            write_mo(target, read_po(source, locale="he"))


def test_a_hebrew_question_gets_hebrew_framing_around_the_english_quote(hebrew_catalogue) -> None:
    index = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    answer = extractive.compose(
        documents=[(INFO, index)], question="how many sounds can I store?", lang="he"
    )
    assert answer.pieces[0].startswith("לפי KT-50 Owner's Manual:")
    assert "You can store a total of four sounds" in answer.text
    assert "[עמ׳ 9]" in answer.text  # noqa: RUF001 - the geresh
    assert answer.citations[0]["document"] == "KT-50 Owner's Manual"
    missing = extractive.compose(documents=[(INFO, index)], question="יש בלוטות'?", lang="he")
    assert missing.state == NOT_IN_MANUAL and "המדריך אינו עוסק" in missing.text
    # Hebrew's "in" and "and" join the next word, with a hyphen before a Latin title.
    assert "חיפשתי ב-KT-50 Owner's Manual ולא" in missing.text
    assert document_list(["A Manual", "B Manual", "C Manual"], "he") == (
        "A Manual, B Manual ו-C Manual"  # noqa: RUF001 - Hebrew "and"
    )
    assert document_list(["A Manual", "B Manual"]) == "A Manual and B Manual"


@pytest.mark.django_db
def test_the_stored_index_loads_back_with_its_embeddings_and_is_cached(
    django_assert_num_queries,
) -> None:
    from apps.manuals.tests.demo_data import ready_manual

    manual = ready_manual()
    store.clear_cache()
    assert store.index_status(manual_id=manual.pk, version=1)["state"] == "missing"
    with pytest.raises(store.IndexNotReady):
        store.load_index(manual_id=manual.pk, version=99)
    store.save_lexical(
        manual_id=manual.pk,
        index=ManualIndex(manual_id=manual.pk, version=1, pages=RESET_PAGES),
        seconds=0.0,
    )
    assert store.embed_stored(manual_id=manual.pk, version=1, embedder=FakeEmbedder())
    loaded = store.load_index(manual_id=manual.pk, version=1)
    assert loaded.embeddings is not None and loaded.embeddings.shape[1] == 64
    assert loaded.bridge_vectors is not None
    assert loaded.bridge_vectors.shape == (len(loaded.bridge_words), 64)
    assert [unit.text for unit in loaded.units] == [unit.text for unit in split_units(RESET_PAGES)]
    with django_assert_num_queries(0):
        assert store.load_index(manual_id=manual.pk, version=1) is loaded
    assert store.index_status(manual_id=manual.pk, version=1)["state"] == "hybrid"


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body))  # type: ignore[attr-defined]
        data = [
            {"index": number, "embedding": [1.0, float(len(text)), 0.0]}
            for number, text in enumerate(body["input"])
        ]
        payload = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_the_openai_compatible_embedder_posts_prefixed_texts_and_normalises() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        embedder = OpenAIEmbedder(
            base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="e5", api_key="k"
        )
        matrix = embedder.embed_passages(["a", "bb"])
        vector = embedder.embed_query("ccc")
    finally:
        server.shutdown()
    path, body = server.requests[0]  # type: ignore[attr-defined]
    assert path == "/v1/embeddings" and body == {
        "model": "e5",
        "input": ["passage: a", "passage: bb"],
    }
    assert matrix.shape == (2, 3) and np.allclose(np.linalg.norm(matrix, axis=1), 1.0)
    assert np.isclose(np.linalg.norm(vector), 1.0)


def _follow_up_sends(
    settings, *, model: str, previous: str, answer: str, question: str
) -> list[str]:
    """The texts a follow-up sends to a loopback embeddings endpoint, the turn before it
    embedded first as the answer service embeds it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EMBEDDINGS_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings.EMBEDDINGS_MODEL = model
    try:
        store.embed_question(previous)
        extractive.compose(
            documents=[(INFO, ManualIndex(manual_id=1, version=1, pages=RESET_PAGES))],
            question=question,
            context=f"{previous}\n{answer}",
            query_vector=store.embed_question(question),
        )
    finally:
        server.shutdown()
    return [text for _, body in server.requests for text in body["input"]]  # type: ignore[attr-defined]


def test_a_follow_up_embeds_its_own_words_and_reuses_the_previous_questions_vector(
    settings,
) -> None:
    previous = "how would I bring back the factory settings on my kt50?"
    question = "and can I undo that?"
    sent = _follow_up_sends(
        settings,
        model="e5-follow-up-test",
        previous=previous,
        answer="According to the manual: Hold WRITE and switch it on. " * 30,
        question=question,
    )
    # Each question once; never the long answer (its cost grows with every token).
    assert sorted(sent) == sorted([f"query: {previous}", f"query: {question}"])


def test_a_hebrew_follow_up_bridges_the_hebrew_words_of_the_previous_question(settings) -> None:
    sent = _follow_up_sends(
        settings,
        model="e5-hebrew-follow-up-test",
        previous="איך שומרים סאונד?",
        answer="Hold WRITE.",
        question="ואיך טוענים אותו?",
    )
    # The follow-up's own word and those of the turn it points back at ("sound").
    assert {"query: טוענים", "query: שומרים", "query: סאונד"} <= set(sent)


def test_an_embeddings_endpoint_that_is_down_is_a_clear_error_and_answers_stay_lexical(
    settings,
) -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    port = probe.server_address[1]
    probe.server_close()  # nothing listens there now
    settings.EMBEDDINGS_BASE_URL = f"http://127.0.0.1:{port}/v1"
    settings.EMBEDDINGS_MODEL = "e5"
    with pytest.raises(EmbeddingError, match="unreachable"):
        OpenAIEmbedder(base_url=settings.EMBEDDINGS_BASE_URL, model="e5").embed_query("x")
    assert store.embed_question("how do I restore the factory settings?") is None
    index = ManualIndex(manual_id=1, version=1, pages=RESET_PAGES)
    answer = extractive.compose(
        documents=[(INFO, index)], question="how do I restore the factory settings?"
    )
    assert answer.state == ANSWERED


@pytest.mark.skipif(not SHARED.is_dir(), reason="the real manuals (../shared/manuals) are absent")
def test_the_real_manuals_keep_callouts_tables_and_headings() -> None:
    from apps.devtools.evaluation.answers import extract_pdf

    plaits = split_units(extract_pdf(SHARED / "mutable-plaits.pdf"))
    texts = [unit.text for unit in plaits]
    assert any(text.startswith("B. Coarse frequency control.") for text in texts)
    assert "Adjusting the FREQUENCY knob range" in [u.text for u in plaits if u.kind == HEADING]
    midi = split_units(extract_pdf(SHARED / "shik-n32b-midi-implementation.pdf"))
    row = next(unit for unit in midi if unit.text == "Save Preset 2 0x02 0010")
    assert row.kind == ROW and midi[row.label].text.startswith("Command Description")


@pytest.mark.django_db
def test_ingest_stores_the_lexical_index_with_the_pages_then_its_embeddings(
    vendor, manual_settings, monkeypatch
) -> None:
    from apps.manuals import services
    from apps.manuals.models import Manual

    monkeypatch.setattr("apps.manuals.retrieval.store.get_embedder", FakeEmbedder)
    url = vendor.add("/kt50.pdf", body=make_pdf(["Reset\nHold WRITE to reset the unit.", "Tempo"]))
    manual = services.ingest_manual(manual_id=Manual.objects.create(source_url=url).pk)
    assert manual.status == Manual.Status.READY
    row = manual.index_data
    assert row.version == manual.version and row.state == "hybrid"
    assert row.embedded_passages == row.passages and row.embedding_model == "fake"
    store.clear_cache()
    index = store.load_index(manual_id=manual.pk, version=manual.version)
    assert index.embeddings is not None
    assert any("Hold WRITE" in unit.text for unit in index.units)
