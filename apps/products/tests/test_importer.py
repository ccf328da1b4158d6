from __future__ import annotations

import collections
from pathlib import Path

import pytest
from django.db import DatabaseError

from apps.manuals.models import DiscoveryTarget, DocumentLink, Manual
from apps.manuals.services.catalog import CatalogDocuments, import_catalog
from apps.products.importer import CatalogImport
from apps.products.models import Brand, Product, ProductAlias, ProductRelationship
from apps.products.selectors import current_catalog_version
from apps.products.tests.conftest import WriteCatalog, product

pytestmark = pytest.mark.django_db


def test_the_real_listing_imports_with_duplicates_merged_and_prices_flagged(
    catalogs_dir: Path,
) -> None:
    result = import_catalog([str(catalogs_dir / "halilit-2026")])

    summary = result.summary()
    assert summary["files"] == 72
    assert summary["created"] == Product.objects.count() == 3177
    assert summary["rejected"] == 0
    assert summary["merged"] == 411
    # Two brand files of one brand ("-eaw-...-" and "eaw-...") are one brand.
    assert not Brand.objects.filter(slug__startswith="-").exists()
    assert Brand.objects.get(slug="eaw-eastern-acoustic-works").name != (
        "-EAW-EASTERN-ACOUSTIC-WORKS-"
    )

    reasons = collections.Counter(
        "ceiling" if "ceiling" in part else "renamed" if "from the page address" in part else part
        for f in result.flagged
        for part in f["reason"].split("; ")
    )
    # Names the scrape shifted from another row are renamed from their page (test_identity).
    assert reasons == {"ceiling": 390, "price is zero": 17, "renamed": 137}
    flagged = Product.objects.filter(needs_review=True)
    assert flagged.count() == 424
    assert not flagged.filter(review_reason__contains="price", price__isnull=False).exists()
    glued = Product.objects.get(catalog_id="roland_87-bt1")
    assert (glued.price, glued.raw_price, glued.needs_review) == (None, "526445", True)
    assert "above the plausible ceiling" in glued.review_reason

    # The "-eaw-" listing has no price; the later "eaw" listing's price wins, blanks never erase.
    merged = Product.objects.get(catalog_id="_eaw_eastern_acoustic_works__89_ntx210l")
    assert merged.price is not None
    assert merged.brand.slug == "eaw-eastern-acoustic-works"
    merge = next(m for m in result.merges if m.catalog_id == merged.catalog_id)
    assert [Path(f).name for f, _ in merge.sources] == [
        "-eaw-eastern-acoustic-works-_catalog.json",
        "eaw-eastern-acoustic-works_catalog.json",
    ]
    # The 46 html_scrape URLs are support indexes: discovery reads them, none is a manual.
    assert not DocumentLink.objects.filter(product__isnull=False).exists()
    assert DiscoveryTarget.objects.values("product_id").distinct().count() == 46


def test_the_seed_catalog_imports_with_relationships_and_no_placeholder_manuals(
    catalogs_dir: Path,
) -> None:
    result = import_catalog([str(catalogs_dir / "seed-v3")])

    assert result.summary()["created"] == Product.objects.count() == 276
    assert ProductRelationship.objects.count() == result.counts.relationships_created == 19
    assert not Manual.objects.filter(source_url__contains="example.com").exists()
    assert Manual.objects.count() == result.counts.manuals_created > 0
    renamed = {r["from"]: r["to"] for r in result.to_dict()["renamed_ids"]}
    assert set(renamed) == {
        "cordoba-córdoba-analog",
        "cordoba-córdoba-digital",
        "cordoba-córdoba-stage",
    }
    assert Product.objects.filter(catalog_id__in=renamed.values()).count() == 3


def test_a_second_import_changes_nothing(catalogs_dir: Path) -> None:
    paths = [str(catalogs_dir / "seed-v3"), str(catalogs_dir / "halilit-2026")]
    first = import_catalog(paths)
    version = current_catalog_version()
    assert first.catalog_version == version

    second = import_catalog(paths)

    summary = second.summary()
    assert (summary["created"], summary["updated"]) == (0, 0)
    assert summary["unchanged"] == first.summary()["created"]
    assert not second.counts.changed_anything
    assert second.catalog_version is None
    assert current_catalog_version() == version


def test_a_dry_run_writes_nothing_but_counts_what_it_would(catalogs_dir: Path) -> None:
    result = import_catalog([str(catalogs_dir / "seed-v3")], dry_run=True)

    assert result.summary()["created"] == 276
    assert Product.objects.count() == Brand.objects.count() == Manual.objects.count() == 0
    assert current_catalog_version() == 0


def test_records_without_id_or_name_are_rejected_with_file_and_position(
    write_catalog: WriteCatalog,
) -> None:
    path = write_catalog(
        "acme.json",
        [product("acme-one"), {"name": "No id"}, product("acme-two", name=""), "junk"],
    )
    path.write_text(path.read_text().replace('"name": "Acme-Two"', '"name": ""'))

    result = import_catalog([str(path)])

    assert [(r.file, r.position, r.reason) for r in result.rejections] == [
        (str(path), 2, "record has no id"),
        (str(path), 3, "record has no name"),
        (str(path), 4, "record is a str, not an object"),
    ]
    assert list(Product.objects.values_list("catalog_id", flat=True)) == ["acme-one"]


def test_a_bad_file_is_reported_and_the_others_import(write_catalog: WriteCatalog) -> None:
    good = write_catalog("good.json", [product("acme-one")])
    broken = write_catalog("broken.json", [], raw='{"products": [')
    shapeless = write_catalog("shapeless.json", [], raw='["not", "a", "catalog"]')

    result = import_catalog([str(broken), str(good), str(shapeless), "/nonexistent.json"])

    errors = {Path(f.path).name: f.error for f in result.failed_files}
    assert set(errors) == {"broken.json", "shapeless.json", "nonexistent.json"}
    assert errors["broken.json"].startswith("not valid JSON")
    assert errors["shapeless.json"] == 'expected an object with a "products" list'
    assert errors["nonexistent.json"] == "file not found"
    assert Product.objects.filter(catalog_id="acme-one").exists()


def test_a_file_that_fails_while_writing_leaves_nothing_behind(
    write_catalog: WriteCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_catalog("a.json", [product("acme-one", aliases=["One"])])
    second = write_catalog(
        "b.json",
        [product("beta-one", brand="beta", aliases=["Beta"])],
        brand={"id": "beta", "name": "Beta"},
    )
    bulk_create = ProductAlias.objects.bulk_create

    def failing_aliases(aliases: list[ProductAlias], **options: object) -> list[ProductAlias]:
        # The second file's aliases are written after its brand and products: all go back.
        if any(alias.alias == "Beta" for alias in aliases):
            raise DatabaseError("disk full")
        return bulk_create(aliases, **options)

    monkeypatch.setattr(ProductAlias.objects, "bulk_create", failing_aliases)

    result = import_catalog([str(first), str(second)])

    assert [f.error for f in result.failed_files] == ["database error: disk full"]
    assert list(Product.objects.values_list("catalog_id", flat=True)) == ["acme-one"]
    assert not Brand.objects.filter(slug="beta").exists()
    assert result.summary()["created"] == 1


def test_duplicate_ids_across_files_merge_and_report_conflicts(
    write_catalog: WriteCatalog,
) -> None:
    first = write_catalog(
        "a.json", [product("acme-x", name="Acme X", sku="AX-1", price=100, aliases=["X1"])]
    )
    second = write_catalog("b.json", [product("acme-x", name="Acme X2", sku="", price=None)])

    result = import_catalog([str(first), str(second)])

    merged = Product.objects.get(catalog_id="acme-x")
    assert (merged.name, merged.sku, str(merged.price)) == ("Acme X2", "AX-1", "100.00")
    assert list(merged.aliases.values_list("alias", flat=True)) == ["X1"]
    assert result.to_dict()["merged"] == [
        {
            "id": "acme-x",
            "sources": [{"file": str(first), "position": 1}, {"file": str(second), "position": 1}],
            "conflicts": {"name": ["Acme X", "Acme X2"]},
        }
    ]


def test_relationships_reach_other_files_and_unknown_targets_are_reported(
    write_catalog: WriteCatalog,
) -> None:
    source = write_catalog(
        "a.json",
        [
            product(
                "acme-amp",
                relationships=[
                    {"type": "accessory", "target_id": "acme-cable", "label": "Cable"},
                    {"type": "related", "target_id": "acme-ghost"},
                ],
            )
        ],
    )
    target = write_catalog("b.json", [product("acme-cable")])

    result = import_catalog([str(source), str(target)])

    rel = ProductRelationship.objects.get()
    assert (rel.source.catalog_id, rel.target.catalog_id, rel.kind, rel.label) == (
        "acme-amp",
        "acme-cable",
        "accessory",
        "Cable",
    )
    assert [u.reason for u in result.unresolved] == [
        "relationship target 'acme-ghost' is not in the catalog"
    ]


def test_an_import_bumps_the_catalog_version_once_and_only_when_it_changed_something(
    write_catalog: WriteCatalog,
) -> None:
    path = write_catalog("a.json", [product("acme-one"), product("acme-two")])
    import_catalog([str(path)])
    first = current_catalog_version()
    assert first > 0
    import_catalog([str(path)])
    assert current_catalog_version() == first

    path.write_text(path.read_text().replace("Acme-Two", "Acme Two Renamed"))
    result = import_catalog([str(path)])

    assert (result.summary()["updated"], result.summary()["unchanged"]) == (1, 1)
    assert current_catalog_version() == first + 1
    assert Product.objects.get(catalog_id="acme-two").name == "Acme Two Renamed"


def test_staff_aliases_survive_a_reimport(write_catalog: WriteCatalog) -> None:
    path = write_catalog("a.json", [product("acme-one", aliases=["A1"])])
    import_catalog([str(path)])
    ProductAlias.objects.create(product=Product.objects.get(), alias="Staff name")

    import_catalog([str(path)])

    assert set(ProductAlias.objects.values_list("alias", flat=True)) == {"A1", "Staff name"}


def test_the_steps_can_run_one_by_one(write_catalog: WriteCatalog) -> None:
    path = write_catalog("a.json", [product("acme-one"), product("acme-one", name="Again")])
    run = CatalogImport([str(path.parent)], documents=CatalogDocuments())

    run.read_files()
    assert [len(f.records) for f in run.result.files] == [2]
    run.merge()
    assert [len(f.records) for f in run.result.files] == [1]
    assert Product.objects.count() == 0
    run.write()
    assert Product.objects.get().name == "Again"
