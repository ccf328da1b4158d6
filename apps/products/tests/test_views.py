from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.manuals.models import Manual
from apps.manuals.services import attach_document
from apps.products.models import Brand, Product

pytestmark = pytest.mark.django_db


def test_the_landing_page_links_to_the_chat_and_escapes_names() -> None:
    brand = Brand.objects.create(slug="acme", name="Acme")
    acme_x = Product.objects.create(catalog_id="acme-x", name="<b>Acme X</b>", brand=brand)
    attach_document(manual=Manual.objects.create(), product=acme_x)
    Product.objects.create(catalog_id="acme-y", name="Acme Y without manual", brand=brand)

    response = Client().get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/chat/"' in html
    assert "&lt;b&gt;Acme X&lt;/b&gt;" in html
    assert "Acme Y without manual" not in html
    # The staff console is linked for staff only, not for the customers the page is for.
    assert 'href="/admin/"' not in html
    staff = Client()
    staff.force_login(User.objects.create_user("clerk", password="pw-12345678", is_staff=True))
    assert 'href="/admin/"' in staff.get("/").content.decode()
