"""Attaching documents to products and families."""

from __future__ import annotations

from apps.manuals.models import DocumentLink, Manual
from apps.manuals.services.status import documents_changed
from apps.products.models import Family, Product


def attach_document(
    *,
    manual: Manual,
    product: Product | None = None,
    family: Family | None = None,
    origin: str = DocumentLink.Origin.STAFF,
    provenance: str = "",
) -> DocumentLink:
    """Link `manual` to one product or one family; linking it again changes nothing."""
    if (product is None) == (family is None):
        raise ValueError("a document is attached to exactly one product or one family")
    link, created = DocumentLink.objects.get_or_create(
        manual=manual,
        product=product,
        family=family,
        defaults={"origin": origin, "provenance": provenance[:2000]},
    )
    if created:
        documents_changed()
    return link
