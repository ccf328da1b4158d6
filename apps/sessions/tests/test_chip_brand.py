from __future__ import annotations

import pytest

from apps.sessions.templatetags.chat_format import chip_brand


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ("Boss RC-505", "Boss"),
        # Catalog brands made from slugs say more, or less, than the name does.
        ("Allen & Heath Qu-32", "Allen Heath"),
        ('Paiste 32" Symphonic Gong', "Paiste Cymbals"),
        ("HeadRush Looperboard", "Headrush Fx"),
        # ...or name the brand after the model.
        ("FA-06 Roland", "Roland"),
        ("גיטרה אקוסטית Oscar Schmidt OG2N", "Oscar Schmidt Acoustic Guitars"),
    ],
)
def test_a_chip_does_not_repeat_the_brand_its_name_says(name, brand):
    assert chip_brand({"name": name, "brand": brand}) == ""


@pytest.mark.parametrize(
    ("name", "brand"),
    [("Messenger", "Moog"), ("Introducing the Geddy Lee Minimoog Model D", "Moog")],
)
def test_a_chip_names_the_brand_when_its_name_does_not(name, brand):
    assert chip_brand({"name": name, "brand": brand}) == brand
