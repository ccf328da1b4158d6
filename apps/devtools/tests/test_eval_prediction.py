from __future__ import annotations

from apps.devtools.management.commands.eval_prediction import _while_typing
from apps.products.prediction import CatalogRecord, PredictionIndex

INDEX = PredictionIndex(
    [
        CatalogRecord(1, "acme-alpha-foo", "Alpha Foo", "Acme"),
        CatalogRecord(2, "acme-beta-bar", "Beta Bar", "Acme"),
    ]
)


def test_typing_a_letter_at_a_time_counts_the_characters_left_when_the_product_shows():
    # "help with my bet" already reads as the start of "beta": five characters still to type.
    assert _while_typing(INDEX, "help with my beta bar", {"acme-beta-bar"}) == ("", 5, 5)


def test_a_text_that_leaves_the_focus_on_another_product_is_reported():
    stray, top3, top1 = _while_typing(INDEX, "alpha foo", {"acme-beta-bar"})
    assert stray == "'alpha foo' -> acme-alpha-foo"
    assert (top3, top1) == (0, 0)  # never named
