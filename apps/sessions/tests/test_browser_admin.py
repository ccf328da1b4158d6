"""The staff lists fit a laptop screen (issue 18): headless chromium against the live server.

The admin needs no socket, so pytest-django's live server (WSGI) serves it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

from apps.products.models import Brand, Product
from apps.sessions.models import ChatSession, Message
from apps.sessions.tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_NAMES = [
    "Allen & Heath QU-16-RK19 Rack-Mount Digital Mixer",
    "V-MODA In-Ear BassFit Wireless Headphones",
    "Magma BITFLASH DJ-Tote Limited Edition",
]


@pytest.fixture
def staff_page(live_server) -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    User.objects.create_superuser("lists", password="lists-pass-123")
    brand = Brand.objects.create(name="Allen & Heath", slug="allen-heath")
    for number in range(12):
        product = Product.objects.create(
            catalog_id=f"long-{number}", name=LONG_NAMES[number % 3] + f" {number}", brand=brand
        )
        session = ChatSession.objects.create(owner_key=f"owner-{number}", product=product)
        # A first question as long as the list shows them (60 characters).
        text = "how do i get the mixer to send its aux outputs to the monitor speakers too"
        Message.objects.create(
            session=session, role=Message.Role.QUESTION, text=text, product=product
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "lists")
        page.fill("#id_password", "lists-pass-123")
        page.click("input[type=submit]")
        page.wait_for_selector("#content")
        yield page, live_server.url
        chromium.close()


def _overflow(page: object) -> float:
    """How far the result table runs past the area that shows it, in pixels."""
    return page.evaluate(
        """() => {
          const table = document.querySelector('#result_list').getBoundingClientRect();
          const area = document.querySelector('#changelist .results').getBoundingClientRect();
          return table.right - area.right;
        }"""
    )


def test_the_chat_sessions_list_shows_every_column_on_a_laptop_screen(staff_page):
    page, url = staff_page
    page.goto(f"{url}/admin/chat/chatsession/")
    assert _overflow(page) <= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-chat-sessions.png"))


def test_product_names_in_the_product_list_stay_on_one_line(staff_page):
    page, url = staff_page
    page.goto(f"{url}/admin/products/product/")
    heights = page.eval_on_selector_all(
        "#result_list .field-name", "cells => cells.map(c => c.getBoundingClientRect().height)"
    )
    line = page.eval_on_selector("#result_list td", "c => c.getBoundingClientRect().height")
    assert heights and max(heights) <= line + 1, (heights, line)
    assert _overflow(page) <= 1, "and every column is in view"


@pytest.fixture
def long_manuals() -> None:
    """Made before the browser starts: its event loop runs in this thread from then on."""
    from django.utils import timezone

    from apps.manuals.models import Manual

    now = timezone.now()
    for name in LONG_NAMES:
        Manual.objects.create(
            title=f"{name} Owner's manual",
            status=Manual.Status.READY,
            page_count=300,
            size_bytes=12_345_678,
            fetched_at=now,
            extracted_at=now,
        )


def test_the_manuals_list_shows_every_column_on_a_laptop_screen(long_manuals, staff_page):
    page, url = staff_page
    page.goto(f"{url}/admin/manuals/manual/")
    assert _overflow(page) <= 1
