"""Hebrew in prediction: aliases staff keep, prefixes, finals, niqqud, the wrong layout."""

from __future__ import annotations

import json

import pytest

from apps.products.models import Brand, BrandAlias, TermAlias
from apps.products.prediction.hebrew import (
    HEBREW_TO_LATIN,
    LATIN_TO_HEBREW,
    HebrewLexicon,
    fold_hebrew,
)
from apps.products.prediction.index import CatalogRecord, PredictionIndex
from apps.products.prediction.registry import load_lexicon
from apps.products.services import HEBREW_ALIASES, seed_hebrew_aliases

LEXICON = HebrewLexicon(
    [
        ("רולנד", "roland"),
        ("בוס", "boss"),
        ("נורד", "nord"),
        ("קטאנה", "katana"),
        ("מקלדת", "keyboard"),
        ("מגבר", "amp"),
        ("אלן אנד הית", "allen heath"),
    ]
)
RECORDS = [
    CatalogRecord(pk=1, product_id="katana-50", name="Boss Katana-50 Gen 3", brand="Boss"),
    CatalogRecord(pk=2, product_id="rc-505", name="Boss RC-505 MkII", brand="Boss"),
    CatalogRecord(pk=3, product_id="fp-30x", name="Roland FP-30X Digital Piano", brand="Roland"),
    CatalogRecord(pk=4, product_id="stage-4", name="Nord Stage 4", brand="Nord"),
    CatalogRecord(pk=5, product_id="electro-7", name="Nord Electro 7", brand="Nord"),
    CatalogRecord(pk=6, product_id="zed-10", name="Allen & Heath ZED-10FX", brand="Allen Heath"),
    CatalogRecord(pk=7, product_id="stand", name="KS7190 Keyboard Stand", brand="On Stage"),
]
INDEX = PredictionIndex(RECORDS, lexicon=LEXICON)


def top(text: str) -> tuple[str | None, bool]:
    found = INDEX.predict(text)
    return (found[0].product_id, found[0].confident) if found else (None, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("קטאנה 50 gen 3 לא נדלק", "katana-50"),
        ("בקטאנה 50 gen 3 שלי", "katana-50"),  # the prefix ב- glued to the name
        ("הרולנד FP-30X לא מתחבר", "fp-30x"),
        ("נורד סטייג' stage 4", "stage-4"),
        ("אלן אנד הית ZED-10FX", "zed-10"),  # a phrase of three words
        ("ב-LX-88 ו-ZED-10FX", "zed-10"),  # noqa: RUF001
        ("לשאשמש 50 gen 3", "katana-50"),  # "katana" typed on the Hebrew layout
        ("רב-505 MkII", "rc-505"),  # "rc" too: two letters before a model number
        ("rukbs fp-30x", "fp-30x"),  # "רולנד" typed on the English layout
        ("קָטָאנָה 50 gen 3", "katana-50"),  # with niqqud
    ],
)
def test_hebrew_text_names_the_product(text: str, expected: str):
    assert top(text) == (expected, True)


def test_a_brand_and_a_kind_of_product_alone_is_not_confident():
    assert LEXICON.rewrite("מקלדת נורד", set()) == "keyboard nord"
    assert not top("מקלדת נורד")[1]


@pytest.mark.parametrize("text", ["שלום, יש לי שאלה", "תודה רבה", "מה שעות הפתיחה", "רולנד"])
def test_hebrew_without_a_product_is_never_confident(text: str):
    assert not top(text)[1]


def test_final_letters_niqqud_and_quotes_fold():
    assert fold_hebrew("מגברים") == "מגברימ"
    assert fold_hebrew("סטייג'") == "סטייג"
    assert fold_hebrew("קָטָאנָה") == "קטאנה"
    assert LEXICON.rewrite("מגברים", set()) == "amp"  # the plural
    assert LEXICON.rewrite("מקלדות", set()) == "keyboard"


def test_the_layout_tables_are_each_others_inverse():
    word = "katana"
    assert word.translate(LATIN_TO_HEBREW) == "לשאשמש"
    assert word.translate(LATIN_TO_HEBREW).translate(HEBREW_TO_LATIN) == word
    assert "roland".translate(LATIN_TO_HEBREW) == "רםךשמג"


def test_english_the_index_knows_is_left_alone():
    known = {"boss", "katana", "50", "gen"}
    assert LEXICON.rewrite("Boss Katana-50 Gen 3", known) == "Boss Katana-50 Gen 3"


@pytest.mark.django_db
def test_the_seed_covers_every_brand_of_the_catalog_and_staff_edits_win():
    data = json.loads(HEBREW_ALIASES.read_text(encoding="utf-8"))
    for slug in data["brands"]:
        Brand.objects.create(slug=slug, name=slug.replace("-", " ").title())
    result = seed_hebrew_aliases()
    assert result.brands_without_alias == []
    assert result.unknown_brands == []
    roland = BrandAlias.objects.get(alias="רולנד")
    roland.means = "roland rolandy"
    roland.save()
    TermAlias.objects.filter(alias="קטאנה").delete()
    again = seed_hebrew_aliases()
    assert again.brand_aliases == 0 and again.term_aliases == 1
    assert BrandAlias.objects.get(alias="רולנד").means == "roland rolandy"
    assert load_lexicon().rewrite("רולנד", set()) == "roland rolandy"


@pytest.mark.django_db
def test_a_broken_alias_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "aliases.json"
    path.write_text('{"brands": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"aliases\.json"):
        seed_hebrew_aliases(path=path)


def test_common_words_are_read_as_typed_not_as_slips_or_typos():
    index = PredictionIndex(
        [
            *RECORDS,
            CatalogRecord(pk=20, product_id="thl-1030", name="Pearl THL-1030S", brand="Pearl"),
            CatalogRecord(pk=21, product_id="stool", name="DT7500 Stool With Foot Rest", brand="X"),
            CatalogRecord(pk=22, product_id="marbles", name="Marbles", brand="Mutable"),
        ],
        lexicon=LEXICON,
    )
    # "איך" (how) is "thl" on the English layout: a common Hebrew word stays Hebrew.
    assert [c.product_id for c in index.predict("איך מחליפים מגבר")] == []
    # "reset" is one letter from "rest": a common English word is not a typo.
    assert index.predict("how do i reset it") == []
    # Words no language uses are still read as slips and typos.
    assert index.predict("marbels how do i lock a loop")[0].product_id == "marbles"
    assert index.predict("שים'-1030")[0].product_id == "thl-1030"
