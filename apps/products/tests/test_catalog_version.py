from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction

from apps.manuals.models import Manual
from apps.manuals.selectors import card_with_documents
from apps.manuals.services import attach_document
from apps.products.models import Brand, CatalogStamp, Product
from apps.products.selectors import CATALOG_VERSION_KEY, current_catalog_version, product_card
from apps.products.services import bump_catalog_version

pytestmark = pytest.mark.django_db


def test_the_version_starts_from_the_clock_and_each_bump_adds_one() -> None:
    assert current_catalog_version() == 0
    first = bump_catalog_version()
    # Milliseconds since the epoch: a stamp made again never repeats an older number.
    assert first > 1_700_000_000_000
    assert bump_catalog_version() == first + 1
    assert CatalogStamp.objects.get().version == first + 1
    assert current_catalog_version() == first + 1


def test_other_processes_read_the_version_from_the_cache_once_committed(
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        version = bump_catalog_version()
    assert cache.get(CATALOG_VERSION_KEY) == version
    CatalogStamp.objects.update(version=99)  # behind the cache's back: the cache answers
    assert current_catalog_version() == version


def test_a_rolled_back_bump_is_never_published() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        bump_catalog_version()
        raise RuntimeError
    assert cache.get(CATALOG_VERSION_KEY) is None
    assert current_catalog_version() == 0


def test_the_product_card_is_the_protocol_object_without_extra_queries(
    django_assert_num_queries,
) -> None:
    brand = Brand.objects.create(slug="boss", name="Boss")
    manual = Manual.objects.create(source_url="https://www.boss.info/m.pdf", page_count=48)
    rc600 = Product.objects.create(
        catalog_id="boss-rc-600",
        name="Boss RC-600",
        brand=brand,
        category="Loopers",
        price=Decimal("2990"),
        product_url="https://www.boss.info/rc-600",
    )
    attach_document(manual=manual, product=rc600)
    Product.objects.create(catalog_id="boss-ds-1", name="Boss DS-1", brand=brand)

    with django_assert_num_queries(1):
        cards = {
            p.catalog_id: product_card(product=p)
            for p in Product.objects.select_related("brand", "family")
        }

    assert cards["boss-rc-600"] == {
        "id": "boss-rc-600",
        "name": "Boss RC-600",
        "brand": "Boss",
        "category": "Loopers",
        "image_url": "",
        "price": "2990.00",
        "currency": "ILS",
        "url": "https://www.boss.info/rc-600",
        "family": None,
    }
    with_documents = card_with_documents(product=rc600)
    assert with_documents["manual"] == {"id": manual.pk, "status": "missing", "pages": 48}
    assert [document["id"] for document in with_documents["documents"]] == [manual.pk]
    ds1 = Product.objects.get(catalog_id="boss-ds-1")
    assert card_with_documents(product=ds1) | {"documents": None} == cards["boss-ds-1"] | {
        "manual": None,
        "documents": None,
    }
    assert cards["boss-ds-1"]["price"] is None
