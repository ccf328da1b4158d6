from __future__ import annotations

import pytest

from apps.devtools.testing import wait_until
from apps.products.models import Brand, Product, ProductAlias
from apps.products.prediction import PredictionIndex
from apps.products.prediction.registry import build_index
from apps.products.selectors import current_catalog_version
from apps.products.services import bump_catalog_version
from hscjit.cache import VersionedHolder

pytestmark = pytest.mark.django_db(transaction=True)


def index_holder(**options: float) -> VersionedHolder[PredictionIndex]:
    """What one process holds: the index of the catalog, checked against its version."""
    return VersionedHolder(build=build_index, version=current_catalog_version, **options)


def top(holder: VersionedHolder[PredictionIndex], text: str) -> str | None:
    found = holder.get().predict(text)
    return found[0].product_id if found else None


def test_an_admin_edit_is_predicted_by_every_process_after_a_version_bump():
    brand = Brand.objects.create(slug="lumenvale", name="Lumenvale Audio")
    piano = Product.objects.create(
        catalog_id="lumenvale-lx-88", name="Lumenvale LX-88", brand=brand
    )
    bump_catalog_version()
    this_process = index_holder(interval=0.0)
    assert top(this_process, "my stagemaster keyboard") is None

    # The edit: a new alias and a deactivated product, then the version bump the admin makes.
    ProductAlias.objects.create(product=piano, alias="StageMaster")
    Product.objects.create(
        catalog_id="lumenvale-lp-4", name="Lumenvale LP-4 Looper", brand=brand, is_active=False
    )
    bump_catalog_version()

    other_process = index_holder()
    assert top(other_process, "my stagemaster keyboard") == "lumenvale-lx-88"
    assert top(other_process, "lp-4 looper") is None

    # This process learns of it in the background, without being told.
    found = wait_until(
        lambda: top(this_process, "my stagemaster keyboard"),
        what="this process predicts the new alias",
    )
    assert found == "lumenvale-lx-88"


def test_an_unchanged_version_does_not_rebuild():
    Brand.objects.create(slug="boss", name="Boss")
    bump_catalog_version()
    holder = index_holder()
    first = holder.get()
    assert holder.refresh() is first
