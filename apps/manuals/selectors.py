"""Reads of manuals: the status payload clients see, and the manuals a command should fetch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps as django_apps
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.manuals.answers.notes import NoteInfo
from apps.manuals.models import DocumentLink, Manual, StaffNote
from apps.products.models import Product
from apps.products.selectors import current_catalog_version, product_card
from hscjit import cache

# The order a product's documents are listed and searched in: the owner's manual first.
KIND_ORDER = {kind: position for position, kind in enumerate(Manual.DocumentKind.values)}


def manual_status_payload(*, manual: Manual) -> dict[str, Any]:
    """The protocol's `manual_status` fields, except `product_id` (the consumer knows it)."""
    ready = manual.status == Manual.Status.READY
    return {
        "manual_id": manual.pk,
        "status": manual.status,
        "progress": 1.0 if ready else round(max(0.0, min(1.0, manual.progress)), 3),
        "pages": manual.page_count,
        # The error is for customers only once the manual has failed; a quiet refresh that
        # failed keeps the manual ready and its note is for staff.
        "error": (manual.error or None) if manual.status == Manual.Status.FAILED else None,
    }


# Moves (to a new random token) after every published status change, in whichever process.
MANUAL_STATES_VERSION_KEY = "manual-states-version"
MANUAL_STATES_VERSION = cache.Version(MANUAL_STATES_VERSION_KEY)


@dataclass(frozen=True)
class DocumentState:
    status: str
    pages: int | None
    title: str
    kind: str
    language: str


@dataclass(frozen=True)
class ManualStates:
    """Every document's status, and every product's documents, as one process last read them."""

    version: str | None
    by_id: dict[int, DocumentState]
    by_product: dict[int, tuple[int, ...]]

    def card_part(self, manual_id: int | None) -> dict[str, Any] | None:
        """The `manual` object of a product card (PROTOCOL.md)."""
        if manual_id is None:
            return None
        state = self.by_id.get(manual_id)
        if state is None:
            return {"id": manual_id, "status": Manual.Status.MISSING, "pages": None}
        return {"id": manual_id, "status": state.status, "pages": state.pages}

    def document_part(self, manual_id: int) -> dict[str, Any]:
        """One entry of a card's `documents` (docs/protocol.md, version 1.1)."""
        part = self.card_part(manual_id) or {}
        state = self.by_id.get(manual_id)
        return part | {
            "title": state.title if state else "",
            "kind": state.kind if state else Manual.DocumentKind.OTHER,
            "language": state.language if state else "",
        }

    def card_documents(self, product_pk: int) -> dict[str, Any]:
        """The `manual` (the first document, as in version 1) and `documents` of a card."""
        ids = self.by_product.get(product_pk, ())
        return {
            "manual": self.card_part(ids[0]) if ids else None,
            "documents": [self.document_part(manual_id) for manual_id in ids],
        }


def manual_states_version() -> str:
    # A family edit is a catalog change and moves which documents a product has.
    return f"{MANUAL_STATES_VERSION.current()}:{current_catalog_version()}"


def manual_states() -> ManualStates:
    # Version first: a change published during the read moves it again, so the next check
    # reads once more rather than keeping states that missed the change.
    version = manual_states_version()
    rows = Manual.objects.values_list(
        "pk", "status", "page_count", "title", "document_kind", "language"
    )
    by_id = {row[0]: DocumentState(*row[1:]) for row in rows}
    return ManualStates(version=version, by_id=by_id, by_product=_documents_by_product(by_id))


def _documents_by_product(by_id: dict[int, DocumentState]) -> dict[int, tuple[int, ...]]:
    members: dict[int, list[int]] = {}
    for pk, family_id in Product.objects.filter(family__isnull=False).values_list(
        "pk", "family_id"
    ):
        members.setdefault(family_id, []).append(pk)
    found: dict[int, list[tuple[int, int]]] = {}
    for link_pk, manual_id, product_id, family_id in DocumentLink.objects.values_list(
        "pk", "manual_id", "product_id", "family_id"
    ):
        for pk in [product_id] if product_id else members.get(family_id, []):
            found.setdefault(pk, []).append((link_pk, manual_id))
    return {
        pk: _ordered(links, lambda manual_id: by_id[manual_id].kind if manual_id in by_id else "")
        for pk, links in found.items()
    }


def _ordered(links: list[tuple[int, int]], kind_of: Any) -> tuple[int, ...]:
    """Manual ids, owner's manual first, then in the order they were linked; each once."""
    ordered = sorted(links, key=lambda link: (KIND_ORDER.get(kind_of(link[1]), 99), link[0]))
    return tuple(dict.fromkeys(manual_id for _, manual_id in ordered))


def documents_of(*, product: Product) -> list[Manual]:
    """The product's documents, its own and its family's, owner's manual first."""
    links = DocumentLink.objects.filter(product=product)
    if product.family_id is not None:
        links = links | DocumentLink.objects.filter(family_id=product.family_id)
    manuals = {
        link.manual_id: link.manual for link in links.select_related("manual").order_by("pk")
    }
    order = _ordered(
        [(position, pk) for position, pk in enumerate(manuals)],
        lambda manual_id: manuals[manual_id].document_kind,
    )
    return [manuals[manual_id] for manual_id in order]


def products_using(*, manual: Manual) -> list[Product]:
    """Products that list this document, directly or through their family."""
    links = DocumentLink.objects.filter(manual=manual)
    direct = links.filter(product__isnull=False).values("product_id")
    families = links.filter(family__isnull=False).values("family_id")
    return list(
        Product.objects.filter(Q(pk__in=direct) | Q(family_id__in=families))
        .select_related("brand")
        .order_by("brand__name", "name")
    )


def servable_manual(*, manual_id: int) -> Manual | None:
    """The manual if anyone may read it: ready, and a document of an active product (its own
    or its family's). Failed originals, staff uploads not linked yet and documents of retired
    products are for staff only."""
    active = Product.objects.filter(is_active=True)
    linked = Q(links__product__in=active) | Q(
        links__family__in=active.filter(family__isnull=False).values("family_id")
    )
    return (
        Manual.objects.filter(linked, pk=manual_id, status=Manual.Status.READY).distinct().first()
    )


def manuals_to_prefetch(
    *, brand: str | None = None, status: str | None = None, everything: bool = False
) -> QuerySet[Manual]:
    """Manuals a bulk prefetch should queue: by default those never fetched or failed."""
    manuals = Manual.objects.all()
    if brand:
        brand_q = Q(brand__slug=brand) | Q(brand__name__iexact=brand)
        products = Product.objects.filter(brand_q)
        manuals = manuals.filter(
            Q(links__product__in=products)
            | Q(links__family__in=products.filter(family__isnull=False).values("family_id"))
        )
    if status:
        manuals = manuals.filter(status=status)
    elif not everything:
        # In flight with its lease run out: the task behind it is gone. (Imported here:
        # the services package imports this module.)
        from apps.manuals.services.leases import IN_FLIGHT, expired

        stuck = Q(status__in=IN_FLIGHT) & expired(timezone.now())
        manuals = manuals.filter(
            Q(status__in=[Manual.Status.MISSING, Manual.Status.FAILED]) | stuck
        )
    return manuals.distinct().order_by("pk")


def _document_part(manual: Manual) -> dict[str, Any]:
    return {
        "id": manual.pk,
        "status": manual.status,
        "pages": manual.page_count,
        "title": manual.title,
        "kind": manual.document_kind,
        "language": manual.language,
    }


def card_with_documents(*, product: Product) -> dict[str, Any]:
    """The protocol's whole product object: the catalog's card and the product's documents."""
    documents = [_document_part(manual) for manual in documents_of(product=product)]
    first = documents[0] if documents else None
    return product_card(product=product) | {
        "manual": {key: first[key] for key in ("id", "status", "pages")} if first else None,
        "documents": documents,
    }


def products_with_documents(*, limit: int = 8) -> list[Product]:
    """Active products that have a document, for the landing page's "try asking about"."""
    linked = DocumentLink.objects.filter(
        Q(product_id=OuterRef("pk")) | Q(family_id=OuterRef("family_id"))
    )
    query = (
        Product.objects.filter(Exists(linked), is_active=True)
        .select_related("brand", "family")
        .order_by("brand__name", "name")
    )
    return list(query[:limit])


def first_document(*, product: Product) -> Manual | None:
    """The document a product's card names as its `manual` (version 1 of the protocol)."""
    documents = documents_of(product=product)
    return documents[0] if documents else None


def staff_notes_for(*, product: Product) -> list[NoteInfo]:
    """The approved staff notes of the product and of its family, newest first."""
    notes = StaffNote.objects.filter(status=StaffNote.Status.APPROVED)
    scope = Q(product=product)
    if product.family_id is not None:
        scope |= Q(family_id=product.family_id)
    return [
        NoteInfo(
            id=note.pk,
            text=note.text,
            language=note.language,
            page=note.page,
            manual_id=note.manual_id,
            updated=note.updated_at.isoformat(),
        )
        for note in notes.filter(scope).order_by("-updated_at", "-pk")
    ]


def most_asked_without_ready_document(*, limit: int = 200) -> list[Product]:
    """Products customers asked about, most questions first, that have no ready document of
    their own or of their family. Each carries `questions` and `last_asked`.

    Messages are read through the app registry: the chat app depends on this one, not the
    other way round.
    """
    message = django_apps.get_model("chat", "Message")
    asked = message.objects.filter(role="question", product_id=OuterRef("pk")).order_by()
    ready = DocumentLink.objects.filter(manual__status=Manual.Status.READY).filter(
        Q(product_id=OuterRef("pk")) | Q(family_id=OuterRef("family_id"))
    )
    query = (
        Product.objects.filter(pk__in=message.objects.filter(role="question").values("product_id"))
        .annotate(
            questions=Subquery(asked.values("product_id").annotate(n=Count("pk")).values("n")),
            last_asked=Subquery(
                asked.values("product_id").annotate(t=Max("created_at")).values("t")
            ),
        )
        .filter(~Exists(ready))
        .select_related("brand", "family")
        .order_by("-questions", "-last_asked", "name")
    )
    return list(query[:limit])
