from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile

from apps.manuals.models import DocumentLink, Manual
from apps.products.models import Brand, Family, Product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path


def _product(*, active: bool = True, family: Family | None = None) -> Product:
    brand, _ = Brand.objects.get_or_create(slug="acme", defaults={"name": "Acme"})
    return Product.objects.create(
        catalog_id=f"acme-{Product.objects.count()}",
        name="LX-88",
        brand=brand,
        is_active=active,
        family=family,
    )


def _stored(status: str = Manual.Status.READY, kind: str = Manual.Kind.PDF, **fields) -> Manual:
    manual = Manual.objects.create(title="LX-88", kind=kind, status=status, **fields)
    manual.stored_file.save("lx88.pdf", ContentFile(b"%PDF-1.4 demo"))
    return manual


def _linked(manual: Manual, **product) -> Manual:
    DocumentLink.objects.create(manual=manual, product=_product(**product))
    return manual


def test_it_serves_a_ready_document_of_an_active_product_inline_in_a_sandbox(client) -> None:
    manual = _linked(_stored())
    response = client.get(f"/manuals/{manual.pk}/document")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="lx88.pdf"'
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 demo"


def test_a_family_document_is_served_for_an_active_member(client) -> None:
    brand = Brand.objects.create(slug="fam", name="Fam")
    family = Family.objects.create(slug="lx", name="LX", brand=brand)
    _product(family=family)
    manual = _stored()
    DocumentLink.objects.create(manual=manual, family=family)
    assert client.get(f"/manuals/{manual.pk}/document").status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda: _linked(_stored(status=Manual.Status.FAILED)),  # a hostile original
        lambda: _linked(_stored(status=Manual.Status.EXTRACTING)),
        lambda: _stored(),  # a staff upload not linked to any product
        lambda: _linked(_stored(), active=False),  # a retired product's
    ],
)
def test_anyone_else_gets_404_for_documents_that_are_not_public(client, make) -> None:
    manual = make()
    assert client.get(f"/manuals/{manual.pk}/document").status_code == 404


def test_staff_who_may_view_manuals_download_a_failed_original_in_a_sandbox(client) -> None:
    manual = _linked(_stored(status=Manual.Status.FAILED))
    staff = User.objects.create_user("agent", password="pw-12345-long", is_staff=True)
    client.force_login(staff)
    assert client.get(f"/manuals/{manual.pk}/document").status_code == 404
    staff.user_permissions.add(Permission.objects.get(codename="view_manual"))
    client.force_login(User.objects.get(pk=staff.pk))
    response = client.get(f"/manuals/{manual.pk}/document")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"] == "private, no-store"


def test_an_html_manual_redirects_to_its_source_page(client) -> None:
    manual = _linked(_stored(kind=Manual.Kind.HTML, source_url="https://x.test/hx-2"))
    response = client.get(f"/manuals/{manual.pk}/document")
    assert response.status_code == 302
    assert response["Location"] == "https://x.test/hx-2"


def test_it_answers_404_when_nothing_is_stored(client) -> None:
    manual = Manual.objects.create(title="Not fetched yet", status=Manual.Status.READY)
    DocumentLink.objects.create(manual=manual, product=_product())
    assert client.get(f"/manuals/{manual.pk}/document").status_code == 404
    assert client.get("/manuals/999999/document").status_code == 404
