"""Product identity and families: one product per model, variants that share documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.manuals.models import DocumentLink
from apps.manuals.selectors import documents_of
from apps.manuals.services import import_catalog
from apps.products.models import Family, Product, ProductMerge
from apps.products.prediction import CatalogRecord, PredictionIndex
from apps.products.prediction.normalize import content_tokens
from apps.products.services import make_family, merge_products, split_merge
from apps.sessions.selectors import active_product

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, name: str, brand: str, products: list[dict[str, Any]]) -> str:
    path = tmp_path / name
    identity = {"id": brand, "name": brand.removesuffix("-blueprint").title()}
    for item in products:
        item.setdefault("brand", brand)
    path.write_text(json.dumps({"brand_identity": identity, "products": products}))
    return str(path)


def shop(catalog_id: str, name: str, **fields: Any) -> dict[str, Any]:
    """A listing of the distributor's shop: SKU, page and price, description = name."""
    return {
        "id": catalog_id,
        "name": name,
        "description": name,
        "category": "accessories",
        **fields,
    }


VENDOR_DESCRIPTION = "The FP-E50 brings you a premium digital piano experience."


@pytest.fixture
def roland(tmp_path: Path) -> list[str]:
    """The shapes of halilit-2026: a vendor scrape (`roland-blueprint`) beside the shop."""
    vendor = write(
        tmp_path,
        "roland-blueprint_catalog.json",
        "roland-blueprint",
        [
            {
                "id": "roland-fp-e50",
                "name": "FP-E50",
                "category": "keys",
                "description": VENDOR_DESCRIPTION,
                "documentation": {"type": "pdf", "url": "https://static.roland.com/fp-e50_om.pdf"},
            },
            {"id": "roland-ks-13", "name": "KS-13 Keyboard Stand", "description": "A stand."},
        ],
    )
    store = write(
        tmp_path,
        "roland_catalog.json",
        "roland",
        [
            shop(
                "roland_87-fpe50bk",
                "Roland FP-E50",
                sku="87-FPE50BK",
                price=3990,
                product_url="https://www.halilit.com/items/5633246-roland-fp-e50-digital-piano",
            ),
            shop(
                "roland_87-ks13",
                "Roland KS-13 Keyboard Stand",
                sku="87-KS13",
                price=450,
                product_url="https://www.halilit.com/items/6796391-roland-ks-13-keyboard-stand",
            ),
            # Shifted by the scrape: the name of another row, its own SKU and page.
            shop(
                "roland_87-jx08",
                "Roland PDX-8",
                sku="87-JX08",
                product_url="https://www.halilit.com/items/4680283-roland-sound-module-jx-08",
            ),
            shop(
                "roland_87-pdx8",
                "Roland PDX-8",
                sku="87-PDX8",
                product_url="https://www.halilit.com/items/446596-roland-pdx-8",
            ),
            shop("roland_87-rc505", "Roland RC-505", sku="87-RC505"),
            shop("roland_87-rc505mk2", "Roland RC-505MKII", sku="87-RC505MK2"),
        ],
    )
    return [vendor, store]


def test_the_vendors_record_and_the_shops_listing_become_one_product(roland: list[str]) -> None:
    result = import_catalog(roland)

    piano = Product.objects.get(catalog_id="roland_87-fpe50bk")
    # The shop's SKU, price, page and name; the vendor's description, category, document.
    assert (piano.sku, str(piano.price), piano.name) == ("87-FPE50BK", "3990.00", "Roland FP-E50")
    assert piano.product_url.endswith("roland-fp-e50-digital-piano")
    assert (piano.description, piano.category) == (VENDOR_DESCRIPTION, "keys")
    assert [d.source_url for d in documents_of(product=piano)] == [
        "https://static.roland.com/fp-e50_om.pdf"
    ]
    vendor = Product.objects.get(catalog_id="roland-fp-e50")
    assert (vendor.is_active, vendor.merged_into) == (False, piano)
    assert vendor.brand == piano.brand  # roland-blueprint is Roland
    merge = ProductMerge.objects.get(merged=vendor)
    assert merge.kept == piano and merge.status == ProductMerge.Status.MERGED
    assert {s["id"] for s in merge.sources} == {"roland_87-fpe50bk", "roland-fp-e50"}
    assert "same model name" in merge.reason
    merged = {tuple(d["ids"]) for d in result.to_dict()["identity"] if d["decision"] == "merged"}
    assert merged == {("roland_87-fpe50bk", "roland-fp-e50"), ("roland_87-ks13", "roland-ks-13")}


def test_a_name_that_contradicts_its_own_sku_and_page_is_renamed_and_flagged(
    roland: list[str],
) -> None:
    import_catalog(roland)

    shifted = Product.objects.get(catalog_id="roland_87-jx08")
    assert shifted.name == "Roland Sound Module JX-08"
    assert shifted.needs_review and "renamed from the page address" in shifted.review_reason
    assert Product.objects.get(catalog_id="roland_87-pdx8").name == "Roland PDX-8"


def test_a_model_and_its_mk2_stay_two_products_and_the_report_says_why(roland: list[str]) -> None:
    result = import_catalog(roland)

    assert (
        Product.objects.filter(
            catalog_id__startswith="roland_87-rc505", is_active=True, family=None
        ).count()
        == 2
    )
    apart = [d for d in result.to_dict()["identity"] if d["decision"] == "kept_apart"]
    assert {
        "ids": ["roland_87-rc505", "roland_87-rc505mk2"],
        "decision": "kept_apart",
        "reason": "'mk2' names another model, not a colour or option",
    } in apart


def test_old_ids_of_merged_listings_resolve_to_the_kept_product(roland: list[str]) -> None:
    import_catalog(roland)

    kept = Product.objects.get(catalog_id="roland_87-fpe50bk")
    assert active_product(catalog_id="roland-fp-e50") == kept
    assert active_product(catalog_id="roland_87-fpe50bk") == kept
    assert active_product(catalog_id="no-such-id") is None


def test_a_split_merge_stays_split_across_imports(roland: list[str]) -> None:
    import_catalog(roland)
    merge = ProductMerge.objects.get(merged__catalog_id="roland-fp-e50")

    split_merge(merge=merge, by="staff")
    again = import_catalog(roland)

    vendor = Product.objects.get(catalog_id="roland-fp-e50")
    kept = Product.objects.get(catalog_id="roland_87-fpe50bk")
    assert (vendor.is_active, vendor.merged_into) == (True, None)
    assert ProductMerge.objects.get(pk=merge.pk).status == ProductMerge.Status.SPLIT
    # The kept product no longer answers from the vendor's document; the vendor's does.
    assert not DocumentLink.objects.filter(product=kept).exists()
    assert DocumentLink.objects.filter(product=vendor).exists()
    assert active_product(catalog_id="roland-fp-e50") == vendor
    assert {
        "ids": ["roland_87-fpe50bk", "roland-fp-e50"],
        "decision": "kept_apart",
        "reason": "staff split this merge",
    } in again.to_dict()["identity"]


def test_a_field_staff_edited_survives_the_next_import(roland: list[str]) -> None:
    import_catalog(roland)
    staff = User.objects.create_superuser("boss", password="x")
    client = Client()
    client.force_login(staff)
    piano = Product.objects.get(catalog_id="roland_87-fpe50bk")
    url = reverse("admin:products_product_change", args=[piano.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "specs"}
    data.update(
        {
            "name": "Roland FP-E50 Digital Piano",
            "brand": piano.brand_id,
            "specs": "{}",
            "locked_fields": "[]",
            "aliases-TOTAL_FORMS": 0,
            "aliases-INITIAL_FORMS": 0,
            "relationships-TOTAL_FORMS": 0,
            "relationships-INITIAL_FORMS": 0,
        }
    )
    data.pop("family", None)
    data.pop("merged_into", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    result = import_catalog(roland)

    piano.refresh_from_db()
    assert piano.name == "Roland FP-E50 Digital Piano"
    assert "name" in piano.locked_fields
    assert piano.sku == "87-FPE50BK"  # imported fields staff left alone still import
    assert result.summary()["updated"] == 0


def test_a_second_import_with_identity_changes_nothing(roland: list[str]) -> None:
    import_catalog(roland)

    second = import_catalog(roland)

    assert not second.counts.changed_anything, second.counts
    assert second.catalog_version is None


@pytest.fixture
def akai(tmp_path: Path) -> list[str]:
    def item(cid: str, name: str, **fields: Any) -> dict[str, Any]:
        return shop(
            cid,
            name,
            price=496,
            product_url=f"https://www.halilit.com/items/{abs(hash(cid)) % 10**7}-x",
            **fields,
        )

    return [
        write(
            tmp_path,
            "akai-professional_catalog.json",
            "akai-professional",
            [
                item(
                    "akai_55_mpkmini3",
                    "Akai Professional MPK Mini mk3",
                    documentation={
                        "type": "pdf",
                        "url": "https://akai.example.net/mpk-mini-mk3.pdf",
                    },
                ),
                item("akai_55_mpkmini3r", "Akai Professional MPK Mini mk3 Red"),
                item("akai_55_mpkmini3w", "Akai Professional MPK Mini mk3 white"),
                item("akai_55_mpkmini4_bk", "Akai Professional MPK Mini mk4"),
                item("akai_55_mpkmini4_wh", "Akai Professional MPK Mini mk4"),
                item("akai_55_mpcone", "Akai Professional MPC One"),
                item("akai_55_mpconemk2", "+Akai Professional MPC ONE"),
            ],
        )
    ]


def test_colours_and_separate_listings_of_one_model_are_a_family_sharing_documents(
    akai: list[str],
) -> None:
    # A document on a reserved test domain would be dropped: use a real-looking host.
    Path(akai[0]).write_text(Path(akai[0]).read_text().replace("akai.example.net", "akai.com"))
    import_catalog(akai)

    mk3 = Family.objects.get(products__catalog_id="akai_55_mpkmini3")
    assert sorted(mk3.products.values_list("catalog_id", flat=True)) == [
        "akai_55_mpkmini3",
        "akai_55_mpkmini3r",
        "akai_55_mpkmini3w",
    ]
    assert mk3.name == "Akai Professional MPK Mini mk3"
    # The document found on one member serves the whole family.
    red = Product.objects.get(catalog_id="akai_55_mpkmini3r")
    assert [d.source_url for d in documents_of(product=red)] == [
        "https://akai.com/mpk-mini-mk3.pdf"
    ]
    assert DocumentLink.objects.filter(family=mk3).count() == 1
    mk4 = Family.objects.get(products__catalog_id="akai_55_mpkmini4_bk")
    assert mk4 != mk3 and mk4.products.count() == 2
    # The "+" is the MPC ONE+, another model: renamed, kept apart, in no family.
    plus = Product.objects.get(catalog_id="akai_55_mpconemk2")
    assert (plus.name, plus.family) == ("Akai Professional MPC ONE+", None)
    assert Product.objects.get(catalog_id="akai_55_mpcone").family is None


def test_a_family_staff_made_or_moved_is_kept_by_imports(akai: list[str]) -> None:
    import_catalog(akai)
    ones = list(Product.objects.filter(catalog_id__startswith="akai_55_mpcone"))

    family = make_family(products=ones, name="MPC One")
    result = import_catalog(akai)

    assert set(family.products.all()) == set(ones)
    assert not result.counts.changed_anything


def test_a_staff_merge_sticks_and_can_be_split(akai: list[str]) -> None:
    import_catalog(akai)
    ones = list(Product.objects.filter(catalog_id__startswith="akai_55_mpcone"))

    kept, [merge] = merge_products(products=ones, by="staff")
    import_catalog(akai)

    assert (
        Product.objects.filter(catalog_id__startswith="akai_55_mpcone", is_active=True).count() == 1
    )
    assert active_product(catalog_id=merge.merged.catalog_id) == kept
    split_merge(merge=merge, by="staff")
    import_catalog(akai)
    assert (
        Product.objects.filter(catalog_id__startswith="akai_55_mpcone", is_active=True).count() == 2
    )


# --- prediction over families ---------------------------------------------------------------

FAMILY = [
    CatalogRecord(1, "katana-50-mk2", "Boss Katana-50 MkII", "Boss", family=1, representative=True),
    CatalogRecord(2, "katana-50-mk2-ex", "Boss Katana-50 MkII EX", "Boss", family=1),
    CatalogRecord(3, "katana-100-mk2", "Boss Katana-100 MkII", "Boss", family=1),
    CatalogRecord(4, "mpk-mini-mk3", "Akai MPK Mini mk3", "Akai", family=2),
    CatalogRecord(5, "mpk-mini-mk3-red", "Akai MPK Mini mk3 Red", "Akai", family=2),
    CatalogRecord(
        6, "mpk-mini-mk3-white", "Akai MPK Mini mk3 White", "Akai", family=2, representative=True
    ),
    CatalogRecord(7, "strap-bl", "Maton Deluxe Guitar Strap", "Maton", family=3),
    CatalogRecord(
        8, "strap-br", "Maton Deluxe Guitar Strap", "Maton", family=3, representative=True
    ),
    CatalogRecord(9, "katana-50-gen3", "Boss Katana-50 Gen 3", "Boss"),
    CatalogRecord(10, "rc-505", "Boss RC-505", "Boss"),
    CatalogRecord(11, "rc-505-mk2", "Boss RC-505MKII", "Boss"),
    CatalogRecord(12, "wa76", "Warm Audio WA76", "Warm Audio", family=4, representative=True),
    CatalogRecord(13, "wa76-a", "Warm Audio WA76-A", "Warm Audio", family=4),
]


@pytest.fixture(scope="module")
def family_index() -> PredictionIndex:
    return PredictionIndex(FAMILY, version=1)


def confident(index: PredictionIndex, text: str) -> str | None:
    found = index.predict(text)
    return found[0].product_id if found and found[0].confident else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help with my maton deluxe guitar strap", "strap-br"),  # the family's representative
        ("my mpk mini mk 3 wont light up", "mpk-mini-mk3"),
        ("mpk mini mk3 red pads", "mpk-mini-mk3-red"),
        ("katana 50 mk2 ex", "katana-50-mk2-ex"),
        ("katana 50 mark ii ex", "katana-50-mk2-ex"),
        ("katana 50 mkii", "katana-50-mk2"),
        ("katana 100 mk 2", "katana-100-mk2"),
        ("katana 50 gen 3", "katana-50-gen3"),
        ("rc 505 mk2", "rc-505-mk2"),
        ("rc-505", "rc-505"),
        ("warm audio wa76-a", "wa76-a"),
    ],
)
def test_prediction_names_the_family_for_vague_words_and_the_variant_for_specific_ones(
    family_index: PredictionIndex, text: str, expected: str
) -> None:
    assert confident(family_index, text) == expected


def test_one_candidate_stands_for_a_family_whose_variants_the_words_cannot_tell_apart(
    family_index: PredictionIndex,
) -> None:
    found = family_index.predict("maton deluxe guitar strap")
    assert [c.product_id for c in found].count("strap-bl") == 0
    assert found[0].product_id == "strap-br" and found[0].confident
    assert not any(c.confident for c in found[1:])


def test_mk2_spellings_are_one_token() -> None:
    assert {tuple(content_tokens(t)) for t in ("mk2", "mkii", "mk 2", "mark ii", "MK II")} == {
        ("mk2",)
    }


def test_the_real_catalog_reimports_unchanged_with_every_merge_reported(
    catalogs_dir: Path, tmp_path: Path
) -> None:
    source = catalogs_dir / "halilit-2026"
    names = [
        "roland_catalog.json",
        "roland-blueprint_catalog.json",
        "boss_catalog.json",
        "boss-blueprint_catalog.json",
        "nord_catalog.json",
        "nord-blueprint_catalog.json",
        "akai-professional_catalog.json",
        "pearl_catalog.json",
    ]
    paths = [str(source / name) for name in names]

    first = import_catalog(paths)
    second = import_catalog(paths)

    assert not second.counts.changed_anything, second.counts
    report = first.to_dict()["identity"]
    merged = {tuple(d["ids"]) for d in report if d["decision"] == "merged"}
    assert ("roland_87-fpe50bk", "roland-fp-e50") in merged
    assert ProductMerge.objects.count() == len(merged) == first.summary()["identity_merged"]
    assert all(
        Product.objects.get(catalog_id=merged_id).merged_into.catalog_id == kept
        for kept, merged_id in merged
    )
    assert Family.objects.get(products__catalog_id="akai_professional_55_mpkmini3r").name == (
        "Akai Professional MPK Mini mk3"
    )
    # RC-505 and RC-505MKII are two models, never one family.
    assert Product.objects.get(catalog_id="boss_87-rc505mk2").family_id is None
