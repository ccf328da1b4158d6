from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_admin_is_english_under_a_hebrew_browser_and_the_chat_is_not():
    staff = User.objects.create_user("dana", password="x", is_staff=True, is_superuser=True)
    client = Client(headers={"accept-language": "he"})
    client.force_login(staff)
    page = client.get("/admin/products/product/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="en"' in html and "Select product to change" in html
    assert page.headers["Content-Language"] == "en"
    chat = client.get("/chat/", follow=True)
    assert '<html lang="he"' in chat.content.decode()
