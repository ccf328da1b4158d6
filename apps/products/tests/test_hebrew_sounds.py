"""Catalog names written in Hebrew letters by their sound, with no alias for them."""

# ruff: noqa: RUF001 -- Hebrew letters are the point of these tests.
from __future__ import annotations

import pytest

from apps.products.prediction.hebrew import HebrewLexicon
from apps.products.prediction.index import CatalogRecord, PredictionIndex
from apps.products.prediction.sounds import SoundMap, hebrew_sound, latin_sound


@pytest.mark.parametrize(
    ("latin", "hebrew"),
    [
        ("plaits", "פלייטס"),
        ("marbles", "מארבלס"),
        ("beads", "ביידס"),
        ("quantum", "קוונטום"),  # qu is k and w; a double vav is w
        ("ambassador", "אמבסדור"),  # a doubled consonant is written once
        ("jupiter", "ג'ופיטר"),  # ג with a geresh is j, one class with g
        ("jupiter", "גופיטר"),  # and so is ג once the tokenizer dropped the geresh
        ("thump", "ת׳אמפ"),  # the Hebrew geresh too
        ("stage", "סטייג'"),
        ("pitch", "פיץ'"),  # ch is ts, as צ' is once the geresh is gone
        ("volt", "וולט"),
        ("sheeran", "שירן"),
    ],
)
def test_a_name_and_its_hebrew_spelling_sound_alike(latin: str, hebrew: str):
    assert latin_sound(latin) == hebrew_sound(hebrew)


def test_different_names_sound_different():
    assert latin_sound("plaits") != hebrew_sound("מארבלס")
    assert latin_sound("katana") != hebrew_sound("קנטה")


def test_where_catalog_words_share_a_sound_the_vowels_decide_or_nothing_does():
    # The index's tokens are singular; the real catalog has all of these beside Plaits.
    sounds = SoundMap(["plait", "plate", "flute", "felt", "flat", "marble"])
    assert sounds.word_for("פלייטס") == "plait"  # yod-yod: ai
    assert sounds.word_for("פלוט") == "flute"  # vav: u
    assert sounds.word_for("מארבלס") == "marble"
    assert SoundMap(["plate", "plat"]).word_for("פלאט") is None  # both "a": neither


def test_on_a_tie_of_shared_vowels_the_word_with_fewer_unwritten_vowels_wins():
    # Collisions of the real catalog: a Hebrew spelling of a foreign name writes most of its
    # vowels, so "marybell" (a-i-e) is a worse fit for "מארבלס" (a) than "marble" (a).
    assert SoundMap(["marybell", "marble"]).word_for("מארבלס") == "marble"
    beads = SoundMap(["video", "wood", "buds", "body", "beaded", "vad", "bead"])
    assert beads.word_for("בביידס") == "bead"


def test_short_words_and_prefixes():
    sounds = SoundMap(["bead", "juno"])
    assert sounds.word_for("בביידס") == "bead"  # "in Beads": the prefix comes off
    assert sounds.word_for("ביד") is None  # "bead" alone has two consonants: too few
    assert sounds.word_for("ג'ונו") is None


def test_a_name_with_a_geresh_is_found_through_the_index():
    record = CatalogRecord(pk=1, product_id="jx", name="Roland Jupiter-X", brand="Roland")
    index = PredictionIndex([record])
    found = index.predict("הג'ופיטר לא נדלק")
    assert found and found[0].product_id == "jx"


def test_an_everyday_hebrew_word_is_not_a_name_by_its_sound():
    # "המכשיר לא נדלק" (the device won't turn on): "מכשיר" sounds like "mixer".
    mixer = CatalogRecord(pk=1, product_id="mx", name="Compact Mixer 8", brand="Mackie")
    index = PredictionIndex([mixer])
    assert index.predict("המכשיר לא נדלק") == []
    found = index.predict("המיקסר לא נדלק")  # the loanword still names it
    assert found and found[0].product_id == "mx"


RECORDS = [
    CatalogRecord(pk=1, product_id="plaits", name="Mutable Instruments Plaits", brand="Mutable"),
    CatalogRecord(pk=2, product_id="marbles", name="Mutable Instruments Marbles", brand="Mutable"),
    CatalogRecord(pk=3, product_id="fp-30x", name="Roland FP-30X Digital Piano", brand="Roland"),
]
INDEX = PredictionIndex(RECORDS, lexicon=HebrewLexicon([("רולנד", "roland")]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("איך משנים מודל בפלייטס", "plaits"),
        ("המארבלס לא מסתנכרן לשעון", "marbles"),
    ],
)
def test_a_hebrew_spelling_with_no_alias_names_the_product(text: str, expected: str):
    found = INDEX.predict(text)
    assert found and found[0].product_id == expected


@pytest.mark.parametrize("text", ["שלום, יש לי שאלה", "איך מחברים אוזניות", "תודה רבה"])
def test_hebrew_without_a_name_matches_nothing_by_sound(text: str):
    assert not INDEX.predict(text)


def test_a_one_word_name_spelled_by_sound_or_with_a_typo_is_named_confidently():
    # A sure match of a distinctive word counts as distinctive: "פלייטס" is as much the
    # Plaits as "plaits" typed, when nothing else comes close.
    named = [
        CatalogRecord(pk=1, product_id="plaits", name="Plaits", brand="Mutable Instruments"),
        CatalogRecord(pk=2, product_id="marbles", name="Marbles", brand="Mutable Instruments"),
        *(
            CatalogRecord(pk=10 + n, product_id=f"fp-{n}", name=f"Roland FP-{n}", brand="Roland")
            for n in range(10, 40)
        ),
    ]
    index = PredictionIndex(named)
    for text, expected in (("איך משנים מודל בפלייטס", "plaits"), ("reset my marbels", "marbles")):
        found = index.predict(text)
        assert found and found[0].product_id == expected and found[0].confident, text
