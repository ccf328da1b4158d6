from __future__ import annotations

from decimal import Decimal

import pytest

from apps.products.importer.records import (
    RecordError,
    clean_brand_name,
    is_placeholder_url,
    normalize_brand_slug,
    normalize_id,
    parse_price,
    parse_record,
    web_url,
)

CEILING = Decimal("200000")


def test_a_valid_slug_id_is_kept_exactly() -> None:
    assert normalize_id("_eaw_eastern_acoustic_works__89_rs153") == (
        "_eaw_eastern_acoustic_works__89_rs153"
    )
    assert normalize_id("Boss-RC-600") == "Boss-RC-600"


def test_an_invalid_id_becomes_a_stable_slug_that_cannot_hit_a_valid_one() -> None:
    renamed = normalize_id("roland_87-v1hd+")
    assert renamed != "roland_87-v1hd"
    assert renamed.startswith("roland_87-v1hd-")
    assert renamed == normalize_id("roland_87-v1hd+")
    assert normalize_id("cordoba-córdoba-stage").startswith("cordoba-cordoba-stage-")
    assert normalize_id("+++").startswith("id-")


def test_brand_slugs_from_scraped_duplicate_files_collapse() -> None:
    assert normalize_brand_slug("-eaw-eastern-acoustic-works-") == "eaw-eastern-acoustic-works"
    assert normalize_brand_slug("steinberg-") == "steinberg"
    with pytest.raises(RecordError):
        normalize_brand_slug("---")


def test_a_shouted_id_is_not_kept_as_a_brand_name() -> None:
    assert clean_brand_name(
        "OSCAR-SCHMIDT-ACOUSTIC-GUITARS-", slug="oscar-schmidt-acoustic-guitars"
    ) == ("Oscar Schmidt Acoustic Guitars")
    assert clean_brand_name("  Allen & Heath ", slug="allen-heath") == "Allen & Heath"
    assert clean_brand_name("EAW", slug="eaw") == "EAW"


@pytest.mark.parametrize(
    ("raw", "price", "reason"),
    [
        (3500, Decimal("3500.00"), None),
        (1299.9, Decimal("1299.90"), None),
        ("1,299.50", Decimal("1299.50"), None),
        (None, None, None),
        (-10, None, "price -10 is negative"),
        (0, None, "price is zero"),
        ("call us", None, "price 'call us' is not a number"),
        (True, None, "price True is not a number"),
        (float("nan"), None, "price nan is not a number"),
        (526445.0, None, "price 526445.0 is above the plausible ceiling of 200,000"),
    ],
)
def test_price_plausibility(raw: object, price: Decimal | None, reason: str | None) -> None:
    assert parse_price(raw, ceiling=CEILING) == (price, reason)


def test_only_absolute_web_urls_survive() -> None:
    assert web_url("https://www.boss.info/x") == "https://www.boss.info/x"
    assert web_url("javascript:alert(1)") is None
    assert web_url("/static/assets/x.webp") is None
    assert web_url(None) is None


def test_reserved_domains_are_placeholders() -> None:
    assert is_placeholder_url("https://example.com/docs/a.pdf")
    assert is_placeholder_url("https://docs.example.org/a.pdf")
    assert is_placeholder_url("http://manuals.test/a.pdf")
    assert not is_placeholder_url("https://www.boss.info/manual.pdf")
    assert not is_placeholder_url("https://notexample.com/a.pdf")


def test_a_record_without_name_or_id_is_rejected_with_the_reason() -> None:
    with pytest.raises(RecordError, match="no id"):
        parse_record({"name": "x"}, file="f", position=1, file_brand="acme", ceiling=CEILING)
    with pytest.raises(RecordError, match="no name"):
        parse_record(
            {"id": "x", "name": " "}, file="f", position=1, file_brand="acme", ceiling=CEILING
        )
    with pytest.raises(RecordError, match="not an object"):
        parse_record(["x"], file="f", position=1, file_brand="acme", ceiling=CEILING)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("' Boss BF-3", "Boss BF-3"),
        ("/ Boss OS-2", "Boss OS-2"),
        ("- Boss XS-100", "Boss XS-100"),
        ('"Gon Bops Panddeiro 10', "Gon Bops Panddeiro 10"),
        ("+ HeadRush Sheeran Looper", "+ HeadRush Sheeran Looper"),  # the Plus model
        ("Boss DS-1", "Boss DS-1"),
    ],
)
def test_stray_punctuation_before_a_name_is_dropped_with_a_warning(typed: str, shown: str):
    record = parse_record(
        {"id": "x", "name": typed}, file="f", position=1, file_brand="acme", ceiling=CEILING
    )
    assert record.fields["name"] == shown
    assert any("stray punctuation" in warning for warning in record.warnings) == (typed != shown)
    with pytest.raises(RecordError, match="no name"):
        parse_record(
            {"id": "x", "name": "- '"}, file="f", position=1, file_brand="a", ceiling=CEILING
        )


def test_an_implausible_price_is_flagged_and_its_raw_value_kept() -> None:
    record = parse_record(
        {"id": "x", "name": "X", "price": 7645364790.0, "currency": "ILS"},
        file="f",
        position=3,
        file_brand="acme",
        ceiling=CEILING,
    )
    assert record.fields["price"] is None
    assert record.fields["raw_price"] == "7645364790"
    assert record.fields["needs_review"] is True
    assert "above the plausible ceiling" in record.fields["review_reason"]
