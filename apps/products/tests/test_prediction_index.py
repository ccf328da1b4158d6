from __future__ import annotations

import pytest

from apps.products.prediction import CatalogRecord, PredictionIndex
from apps.products.prediction.normalize import tokens
from hscjit.cache import VersionedHolder

CATALOG = [
    CatalogRecord(1, "boss-rc-600", "Boss RC-600", "Boss"),
    CatalogRecord(2, "boss-rc-505", "Boss RC-505", "Boss"),
    CatalogRecord(3, "boss-rc-505mk2", "Boss RC-505MKII", "Boss"),
    CatalogRecord(4, "boss-rc-5", "Boss RC-5", "Boss"),
    CatalogRecord(5, "boss-cb-rc505", "Boss CB-RC505 Carrying Bag", "Boss"),
    CatalogRecord(6, "boss-katana-50-gen3", "Boss Katana-50 Gen 3", "Boss"),
    CatalogRecord(7, "boss-katana-50-mk2-ex", "Boss Katana-50 MkII EX", "Boss"),
    CatalogRecord(8, "boss-katana-50-ex-gen3", "Boss Katana-50 EX Gen 3", "Boss"),
    CatalogRecord(9, "boss-katana-100-gen3", "Boss Katana-100 Gen 3", "Boss"),
    CatalogRecord(10, "roland-td-07kv", "Roland TD-07KV", "Roland"),
    CatalogRecord(11, "roland-fp-30x", "Roland FP-30X Digital Piano", "Roland"),
    CatalogRecord(12, "expressive-touche", "Expressive E Touché", "Expressive E"),
    CatalogRecord(13, "oscar-og2", "גיטרה אקוסטית Oscar Schmidt OG2 KOA", "Oscar Schmidt"),
    CatalogRecord(14, "lumenvale-lp-4", "Lumenvale LP-4 Looper", "Lumenvale Audio"),
    CatalogRecord(15, "lumenvale-dr-10", "Lumenvale DR-10 Drum Machine", "Lumenvale Audio"),
    CatalogRecord(16, "roland-dr-10", "Roland DR-10 Drum Pad", "Roland"),
    CatalogRecord(17, "mackie-mcaster", "Mackie M•Caster Studio", "Mackie", sku="MCS-100"),
    CatalogRecord(18, "nord-stage-4", "Nord Stage 4 88", "Nord", aliases=("NS4",)),
]


@pytest.fixture(scope="module")
def index() -> PredictionIndex:
    return PredictionIndex(CATALOG, version=1)


def _with(*records: CatalogRecord) -> PredictionIndex:
    """An index of CATALOG and `records`."""
    return PredictionIndex([*CATALOG, *records])


def top(index: PredictionIndex, text: str) -> str | None:
    found = index.predict(text)
    return found[0].product_id if found else None


def confident_top(index: PredictionIndex, text: str) -> str | None:
    found = index.predict(text)
    return found[0].product_id if found and found[0].confident else None


@pytest.mark.parametrize(
    "text",
    [
        "rc600",
        "RC-600",
        "rc 600",
        "Rc\u2011600",
        "RC\u2014600",
        "rc\u2013600",
        "RC\u2212600",
        "".join(chr(ord(char) + 0xFEE0) for char in "RC-600"),  # full width
    ],
)
def test_any_spelling_of_a_model_number_finds_it_confidently(index, text):
    assert confident_top(index, text) == "boss-rc-600"


@pytest.mark.parametrize("spelling", ["mk2", "mkii", "mk ii", "MK-II", "Mk.2", "mark ii"])
def test_mark_numbers_fold_to_one_token(spelling):
    assert tokens(f"katana {spelling}")[-1] == "mk2"


def test_gen_and_mk_name_the_same_generation():
    assert tokens("Gen 3") == tokens("mkiii") == ["mk3"]


def test_accents_and_case_do_not_matter(index):
    assert confident_top(index, "TOUCHE") == "expressive-touche"
    assert confident_top(index, "touché") == "expressive-touche"


def test_hebrew_words_around_a_name_do_not_hide_it(index):
    assert confident_top(index, "יש לי בעיה עם ה-rc600 שלי") == "boss-rc-600"
    assert confident_top(index, "הלופר rc 600 לא עובד") == "boss-rc-600"


def test_a_hebrew_product_name_is_found_by_its_latin_model(index):
    assert confident_top(index, "oscar schmidt og2") == "oscar-og2"


def test_it_finds_the_product_inside_a_sentence(index):
    text = "how do i save a loop on the rc-505 mk2"
    assert confident_top(index, text) == "boss-rc-505mk2"
    assert confident_top(index, "my rc 600 won't sync to midi") == "boss-rc-600"


def test_the_exact_model_beats_its_neighbours(index):
    assert confident_top(index, "rc-505mkii") == "boss-rc-505mk2"
    assert top(index, "rc-505") == "boss-rc-505"
    assert confident_top(index, "katana 50 gen 3") == "boss-katana-50-gen3"
    assert confident_top(index, "katana-50 mk2 ex") == "boss-katana-50-mk2-ex"


def test_the_brand_decides_between_two_brands_models(index):
    assert confident_top(index, "lumenvale dr-10") == "lumenvale-dr-10"
    assert confident_top(index, "roland dr 10") == "roland-dr-10"
    assert confident_top(index, "dr-10") is None


def test_a_question_naming_another_brand_than_the_products_says_so(index):
    fp30 = 11  # Roland FP-30X
    assert index.names_other_brand("my nord stage has no sound", fp30)
    assert not index.names_other_brand("is my roland plugged in right?", fp30)
    assert not index.names_other_brand("and how do i undo that?", fp30)
    # A brand whose words are everyday words is not named by them: "audio", "boss".
    assert not index.names_other_brand("my boss wants the audio louder", fp30)
    assert index.names_other_brand("lumenvale audio looper", fp30)


def test_the_word_being_typed_is_read_as_the_start_of_a_catalog_word(index):
    # "rc-60" on the way to "rc-600": the RC-600 leads the RC-5 and the RC-505.
    assert top(index, "rc-60") == "boss-rc-600"
    # A start of a word alone makes nothing confident.
    found = index.predict("touc")
    assert found[0].product_id == "expressive-touche" and not found[0].confident
    # Only the last word, only while it is typed: a finished word is read as it is.
    assert top(index, "rc-60 ") != "boss-rc-600"
    # Too short, or the start of too many words, is not read as any of them.
    assert index.predict("mo") == []
    # A catalog word typed whole stays that word: the TD-07KV, not a longer model.
    assert confident_top(index, "roland td-07kv") == "roland-td-07kv"


def test_typos_still_find_the_product(index):
    assert top(index, "katanna 100 gen 3") == "boss-katana-100-gen3"
    assert top(index, "expresive touche") == "expressive-touche"


def test_aliases_skus_and_glued_words_are_indexed(index):
    assert confident_top(index, "my ns4 has a stuck key") == "nord-stage-4"
    assert confident_top(index, "MCS100") == "mackie-mcaster"
    assert top(index, "mackie mcaster studio") == "mackie-mcaster"


@pytest.mark.parametrize(
    "text", ["hello", "what are your opening hours", "hi there, can you help me?", "", "   "]
)
def test_text_that_names_no_product_gets_no_confident_candidate(index, text):
    assert confident_top(index, text) is None


def test_hello_gives_no_candidates_at_all(index):
    assert index.predict("hello") == []


def test_candidates_are_sorted_bounded_and_only_the_first_is_confident(index):
    found = index.predict("boss rc 505 katana 50", limit=3)
    assert 0 < len(found) <= 3
    assert [c.confidence for c in found] == sorted((c.confidence for c in found), reverse=True)
    assert all(0.0 <= c.confidence <= 1.0 for c in found)
    assert not any(c.confident for c in found[1:])


def test_a_holder_rebuilds_when_the_version_moves():
    versions = {"now": 1}
    builds: list[int] = []

    def build() -> PredictionIndex:
        builds.append(versions["now"])
        extra = (
            [CatalogRecord(99, "new-thing", "Zephyr ZX-9", "Zephyr")] if versions["now"] > 1 else []
        )
        return PredictionIndex([*CATALOG, *extra], version=versions["now"])

    holder = VersionedHolder(build=build, version=lambda: versions["now"], interval=0.0)
    assert top(holder.get(), "zx9") is None
    versions["now"] = 2
    assert top(holder.refresh(), "zx9") == "new-thing"
    holder.refresh()
    assert builds == [1, 2]


def test_a_text_of_unknown_words_costs_a_bounded_number_of_fuzzy_searches(monkeypatch):
    from apps.products.prediction import index as module

    searches: list[str] = []
    extract = module.process.extract

    def counted(query, *args, **kwargs):
        searches.append(query)
        return extract(query, *args, **kwargs)

    monkeypatch.setattr(module.process, "extract", counted)
    fresh = PredictionIndex(CATALOG, version=2)  # its fuzzy cache is empty
    gibberish = " ".join(f"qwzx{chr(97 + n)}{chr(97 + n // 26)}k" for n in range(20))
    found = fresh.predict(f"{gibberish} katanna 100 gen 3")
    assert len(searches) == module.FUZZY_SEARCHES
    # The last unknown words get the searches: a typo in the name at the end still counts.
    assert "katanna" in searches
    assert found and found[0].product_id == "boss-katana-100-gen3"


def test_a_short_word_still_being_typed_does_not_alone_name_a_model() -> None:
    # Pedals named two letters and a common "2", as in the real catalog.
    pedals = [
        CatalogRecord(19 + n, f"boss-{code}-2", f"Boss {code.upper()}-2", "Boss")
        for n, code in enumerate(("mo", "ds", "tu", "ce", "dd", "bf", "ph", "sd"))
    ]
    index = PredictionIndex([*CATALOG, *pedals])
    # "...change mo" is on its way to "model"; once the word ends, MO-2 is meant.
    assert top(index, "plaits how to change mo") == "boss-mo-2"
    assert confident_top(index, "plaits how to change mo") is None
    assert confident_top(index, "my mo ") == "boss-mo-2"
    assert confident_top(index, "my mo-2") == "boss-mo-2"
    # A short last word beside another word of the name still counts.
    assert confident_top(index, "my rc 5") == "boss-rc-5"


def test_two_letters_swapped_are_one_typo(index) -> None:
    # "touhce": one slip of the fingers, though two edits apart for plain Levenshtein.
    assert top(index, "my touhce") == "expressive-touche"


def test_a_typo_in_a_plural_or_one_as_near_to_several_words() -> None:
    index = _with(
        CatalogRecord(40, "beads", "Beads", "Mutable Instruments"),
        CatalogRecord(41, "plaits", "Plaits", "Mutable Instruments"),
        CatalogRecord(42, "uad-plate", "UAD EMT 140 Plate Reverb", "Universal Audio"),
        CatalogRecord(43, "mpk-play", "Akai MPK Play Mini", "Akai"),
    )
    # "beeds" is read "beed" (plurals count as singular), one letter from "bead": as typed,
    # it is five letters and no English word.
    assert confident_top(index, "how do i reset my beeds") == "beads"
    # "plats" is as near to plait as to plate and play: each is offered, none is sure.
    found = [c.product_id for c in index.predict("plats reset")]
    assert "plaits" in found
    assert confident_top(index, "plats reset") is None
    # "plat" typed as such is an English word, not a typo.
    assert "plaits" not in [c.product_id for c in index.predict("plat reset")]


def test_beside_a_sure_product_only_other_readings_of_its_words_are_offered() -> None:
    index = PredictionIndex(
        [
            *CATALOG,
            CatalogRecord(30, "moog-model-d", "Moog Minimoog Model D", "Moog"),
            CatalogRecord(31, "plaits", "Plaits", "Mutable Instruments"),
        ]
    )
    # The Model D only shares "model" with the question, not a word that named Plaits.
    assert [c.product_id for c in index.predict("plaits how do i change the model")] == ["plaits"]
    found = [c.product_id for c in index.predict("katana 50 ex gen 3 model")]
    assert found[0] == "boss-katana-50-ex-gen3"
    assert "boss-katana-50-gen3" in found  # another reading of "katana 50 gen 3"


def test_a_word_typed_as_one_is_not_read_in_pieces_beside_a_sure_product() -> None:
    index = PredictionIndex(
        [
            *CATALOG,
            CatalogRecord(40, "shik-n32b", "N32B", "Shik"),
            CatalogRecord(41, "lynx-aurora-32", "Lynx Aurora(n) 32 HD", "Lynx"),
            CatalogRecord(42, "ah-qu-32", "Allen & Heath Qu-32", "Allen & Heath"),
        ]
    )
    # "n32b" is one word: the Aurora(n) 32 and the Qu-32 hold pieces of it, not it.
    found = index.predict("how do i save a preset on my n32b")
    assert found[0].confident and [c.product_id for c in found] == ["shik-n32b"]
    # Typed apart, the words still offer the other readings that hold them whole.
    found = [c.product_id for c in index.predict("boss katana-50 gen 3")]
    assert found[0] == "boss-katana-50-gen3" and "boss-katana-50-ex-gen3" in found


def test_beside_a_focus_only_words_that_name_a_product_offer_one() -> None:
    index = _with(
        CatalogRecord(44, "mackie-big-knob", "Mackie Big Knob Studio", "Mackie"),
        CatalogRecord(45, "ah-qu-16", "Allen & Heath Qu-16", "Allen & Heath"),
        CatalogRecord(46, "mackie-mix5", "Mackie MIX5", "Mackie"),
        CatalogRecord(47, "beads", "Beads", "Mutable Instruments"),
        CatalogRecord(48, "ah-cc-10", "Allen & Heath CC-10", "Allen & Heath"),
    )

    def offered(text: str) -> list[str]:
        return [c.product_id for c in index.predict(text, beside_focus=True)]

    assert "mackie-big-knob" in [c.product_id for c in index.predict("which knob is it")]
    assert offered("which knob is it") == []
    # A model number, a brand, a word no language commonly uses still name products.
    assert "boss-rc-505" in offered("and the 505")
    assert "mackie-big-knob" in offered("the mackie knob")
    assert offered("and the katanna")[0].startswith("boss-katana")
    # The letters of a model code name it, unless they are an everyday word ("mix").
    assert offered("and on a qu mixer") == ["ah-qu-16"]
    assert "mackie-mix5" in [c.product_id for c in index.predict("the dry wet mix")]
    assert offered("the dry wet mix") == []
    # A word still being typed names what it may become: "knob", not a model.
    assert offered("which kno") == []
    # An everyday word that is a product's whole name names it.
    assert offered("is beads louder") == ["beads"]
    assert offered("and which knob sends cc") == []
    assert offered("and the katan")[0].startswith("boss-katana")
