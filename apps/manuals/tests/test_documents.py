"""Several documents per product or family, and what a product card says of them."""

from __future__ import annotations

import pytest

from apps.manuals.models import DocumentLink, Manual
from apps.manuals.selectors import (
    card_with_documents,
    documents_of,
    manual_states,
    products_using,
    products_with_documents,
)
from apps.manuals.services import attach_document
from apps.products.models import Brand, Family, Product

pytestmark = pytest.mark.django_db

Kind = Manual.DocumentKind


def _catalog() -> dict:
    brand = Brand.objects.create(slug="shik", name="Shik")
    family = Family.objects.create(slug="shik-n32b", name="N32B", brand=brand)
    black = Product.objects.create(
        catalog_id="shik-n32b-black", name="Shik N32B Black", brand=brand, family=family
    )
    white = Product.objects.create(
        catalog_id="shik-n32b-white", name="Shik N32B White", brand=brand, family=family
    )
    alone = Product.objects.create(catalog_id="shik-other", name="Shik Other", brand=brand)
    midi = Manual.objects.create(
        title="N32B MIDI implementation", document_kind=Kind.MIDI_IMPLEMENTATION
    )
    owners = Manual.objects.create(
        title="N32B user manual", document_kind=Kind.OWNERS_MANUAL, status="ready", page_count=5
    )
    sticker = Manual.objects.create(title="White panel sticker", document_kind=Kind.OTHER)
    attach_document(manual=midi, family=family, origin=DocumentLink.Origin.CATALOG)
    attach_document(manual=owners, family=family)
    attach_document(manual=sticker, product=white)
    return {"black": black, "white": white, "alone": alone, "family": family} | {
        "midi": midi,
        "owners": owners,
        "sticker": sticker,
    }


def test_a_product_has_its_own_and_its_familys_documents_owners_manual_first() -> None:
    rows = _catalog()
    assert documents_of(product=rows["black"]) == [rows["owners"], rows["midi"]]
    assert documents_of(product=rows["white"]) == [rows["owners"], rows["midi"], rows["sticker"]]
    assert documents_of(product=rows["alone"]) == []


def test_the_card_names_the_first_document_as_manual_and_lists_every_document() -> None:
    rows = _catalog()
    card = card_with_documents(product=rows["white"])
    assert card["manual"] == {"id": rows["owners"].pk, "status": "ready", "pages": 5}
    assert [(d["id"], d["kind"]) for d in card["documents"]] == [
        (rows["owners"].pk, "owners_manual"),
        (rows["midi"].pk, "midi_implementation"),
        (rows["sticker"].pk, "other"),
    ]
    assert card["family"] == "N32B"
    assert card_with_documents(product=rows["alone"])["manual"] is None


def test_the_typing_paths_states_give_every_member_the_familys_documents() -> None:
    rows = _catalog()
    states = manual_states()
    black = states.card_documents(rows["black"].pk)
    assert black["manual"] == {"id": rows["owners"].pk, "status": "ready", "pages": 5}
    assert [d["id"] for d in black["documents"]] == [rows["owners"].pk, rows["midi"].pk]
    assert states.card_documents(rows["alone"].pk) == {"manual": None, "documents": []}
    # The same answer as the database read of one card.
    assert states.card_documents(rows["white"].pk)["documents"] == [
        {key: d[key] for key in ("id", "status", "pages", "title", "kind", "language")}
        for d in card_with_documents(product=rows["white"])["documents"]
    ]


def test_attaching_twice_changes_nothing_and_a_link_has_exactly_one_target() -> None:
    rows = _catalog()
    again = attach_document(manual=rows["midi"], family=rows["family"])
    assert DocumentLink.objects.filter(manual=rows["midi"]).count() == 1
    assert again.origin == DocumentLink.Origin.CATALOG
    with pytest.raises(ValueError, match="exactly one"):
        attach_document(manual=rows["midi"], product=rows["black"], family=rows["family"])
    with pytest.raises(ValueError, match="exactly one"):
        attach_document(manual=rows["midi"])


def test_staff_see_which_products_use_a_document_directly_or_through_their_family() -> None:
    rows = _catalog()
    assert products_using(manual=rows["midi"]) == [rows["black"], rows["white"]]
    assert products_using(manual=rows["sticker"]) == [rows["white"]]
    assert set(products_with_documents()) == {rows["black"], rows["white"]}
