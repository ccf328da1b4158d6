"""Ready demo manuals in the database, built from the bundled files (for answer tests)."""

from __future__ import annotations

from functools import cache as memoize

from apps.devtools.evaluation.answers import demo_pages
from apps.manuals.models import Manual, ManualPage
from apps.manuals.services import attach_document
from apps.products.models import Brand, Product


@memoize
def _pages(name: str) -> tuple[tuple[int, str], ...]:
    return tuple(demo_pages(name))


def ready_manual(
    name: str = "lumenvale-lx-88.pdf", *, title: str = "LX-88 Owner's Manual"
) -> Manual:
    pages = _pages(name)
    manual = Manual.objects.create(
        title=title,
        kind=Manual.Kind.HTML if name.endswith(".html") else Manual.Kind.PDF,
        status=Manual.Status.READY,
        page_count=len(pages),
        version=1,
    )
    ManualPage.objects.bulk_create(
        ManualPage(manual=manual, number=number, text=text) for number, text in pages
    )
    return manual


def product_with(manual: Manual | None, *, catalog_id: str = "lumenvale-lx-88") -> Product:
    brand, _ = Brand.objects.get_or_create(slug="lumenvale", defaults={"name": "Lumenvale Audio"})
    product = Product.objects.create(
        catalog_id=catalog_id,
        name="LX-88 Stage Piano",
        brand=brand,
        category="Stage Pianos",
        product_url="https://lumenvale.example/lx-88",
    )
    if manual is not None:
        attach_document(manual=manual, product=product)
    return product
