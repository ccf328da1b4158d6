"""A document's admin page: its file links open for staff, and it says which products use it."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from apps.manuals.models import DocumentLink, Manual
from apps.manuals.tests.conftest import make_pdf
from apps.products.models import Brand, Family, Product

pytestmark = pytest.mark.django_db

PDF = make_pdf(["Owner's manual page one"])


@pytest.fixture
def manual(manual_settings) -> Manual:
    manual = Manual.objects.create(title="RC-600 owner's manual", status=Manual.Status.READY)
    manual.stored_file.save("rc-600.pdf", ContentFile(PDF), save=False)
    manual.uploaded_file.save("rc-600-upload.pdf", ContentFile(PDF), save=False)
    manual.save()
    return manual


def _staff(*codenames: str) -> Client:
    user = User.objects.create_user("-".join(codenames), password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def _file_links(client: Client, manual: Manual) -> list[str]:
    page = client.get(reverse("admin:manuals_manual_change", args=[manual.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    return [
        link
        for link in re.findall(r'href="([^"]+)"', html)
        if link.endswith((manual.stored_file.name, manual.uploaded_file.name))
    ]


def test_the_stored_original_and_the_upload_open_from_the_admin_page(manual: Manual):
    staff = _staff("view_manual", "change_manual")
    links = _file_links(staff, manual)
    assert len(links) == 2, links
    for link in links:
        response = staff.get(link)
        assert response.status_code == 200, link
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == PDF


def test_the_files_are_for_staff_who_may_view_manuals_only(manual: Manual):
    url = manual.stored_file.url
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert _staff("view_product").get(url).status_code == 403
    viewer = _staff("view_manual")
    assert viewer.get(url).status_code == 200
    # Only a manual's own files: nothing else in storage, and no way out of it.
    assert viewer.get("/staff/manual-files/manuals/stored/other.pdf").status_code == 404
    assert viewer.get("/staff/manual-files/../../etc/passwd").status_code == 404


def test_a_document_page_lists_the_products_that_use_it_directly_or_by_family(
    manual: Manual, admin_client: Client
):
    brand = Brand.objects.create(name="Boss", slug="boss")
    family = Family.objects.create(slug="rc-600", name="RC-600", brand=brand)
    direct = Product.objects.create(catalog_id="boss-rc-600", name="Boss RC-600", brand=brand)
    variant = Product.objects.create(
        catalog_id="boss-rc-600-black", name="Boss RC-600 Black", brand=brand, family=family
    )
    Product.objects.create(catalog_id="boss-rc-5", name="Boss RC-5", brand=brand)
    DocumentLink.objects.create(manual=manual, product=direct)
    DocumentLink.objects.create(manual=manual, family=family)

    html = admin_client.get(reverse("admin:manuals_manual_change", args=[manual.pk])).content
    html = html.decode()
    for product in (direct, variant):
        link = reverse("admin:products_product_change", args=[product.pk])
        assert f'<a href="{link}">{product.name}</a>' in html
    assert "Boss RC-5<" not in html

    unused = Manual.objects.create(title="Nobody's")
    html = admin_client.get(reverse("admin:manuals_manual_change", args=[unused.pk])).content
    assert "No product uses this document yet." in html.decode()
