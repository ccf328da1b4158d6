"""What a trial in chromium tripped over, as a customer and as the demo staff member.

The demo staff user is a catalog editor and support agent (not a superuser); the catalog adds
a brand whose catalog name is not how its product names say it ("Allen Heath" for "Allen &
Heath ...").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from apps.sessions.tests.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, demo_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEMO_PDF = Path(settings.BASE_DIR) / "apps" / "manuals" / "demo" / "lumenvale-lp-4.pdf"
CATALOG = {
    "brand_identity": {"id": "allen-heath", "name": "Allen Heath", "website": None},
    "products": [
        {"id": f"allen-heath-qu-{size}", "name": f"Allen & Heath Qu-{size}", "brand": "allen-heath"}
        for size in (16, 24, 32)
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    catalog = tmp_path_factory.mktemp("trial-catalog") / "allen-heath_catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    yield from demo_server(tmp_path_factory, ["import_catalog", str(catalog)])


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _staff_page(browser: object, server: str) -> object:
    credentials = Path(settings.BASE_DIR) / "var" / "demo-credentials.txt"
    username, _, password = credentials.read_text().strip().partition(":")
    page = browser.new_page()
    page.goto(f"{server}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    return page


def test_the_demo_staff_member_uploads_a_pdf_from_the_manuals_list(server: str, browser: object):
    from playwright.sync_api import expect

    page = _staff_page(browser, server)
    page.goto(f"{server}/admin/manuals/manual/")
    page.get_by_role("link", name="Upload PDFs").click()
    expect(page.locator("h1")).to_have_text("Upload PDFs", timeout=WAIT_MS)
    page.fill("#id_product", "allen-heath-qu-32")
    page.select_option("#id_kind", "owners_manual")
    page.set_input_files("#id_files", [str(DEMO_PDF)])
    page.get_by_role("button", name="Upload").click()
    # The new document's status, under a message saying what was uploaded.
    expect(page.locator(".messagelist .success")).to_contain_text(
        "1 PDF uploaded and queued for reading", timeout=WAIT_MS
    )
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.close()


def test_chips_do_not_repeat_a_brand_the_product_names_already_say(server: str, browser: object):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{server}/chat/")
    expect(page.locator("body.is-connected")).to_have_count(1, timeout=WAIT_MS)
    page.get_by_label("Your question", exact=True).press_sequentially("allen heath qu", delay=40)
    chips = page.locator("#candidates .chip")
    expect(chips.first).to_be_visible(timeout=WAIT_MS)
    names = chips.locator(".chip-name").all_inner_texts()
    assert names and all(name.startswith("Allen & Heath Qu-") for name in names)
    assert set(chips.locator(".chip-brand").all_inner_texts()) == {""}
    page.close()


def _asked_about_the_split_point(browser: object, server: str) -> object:
    """A customer's page once the LX-88 question is answered."""
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{server}/chat/")
    expect(page.locator("body.is-connected")).to_have_count(1, timeout=WAIT_MS)
    box = page.get_by_label("Your question", exact=True)
    box.fill("How do I change the split point on the Lumenvale LX-88?")
    box.press("Enter")
    expect(page.locator(".msg-answer[data-message-id]")).to_have_count(1, timeout=WAIT_MS)
    return page


def test_the_content_gaps_legend_has_no_list_markers(server: str, browser: object):
    from playwright.sync_api import expect

    customer = _asked_about_the_split_point(browser, server)
    customer.close()

    page = _staff_page(browser, server)
    page.goto(f"{server}/admin/content-gaps/")
    items = page.locator(".legend li")
    expect(items.first).to_be_visible(timeout=WAIT_MS)
    markers = items.evaluate_all("(items) => items.map((li) => getComputedStyle(li).listStyleType)")
    assert set(markers) == {"none"}
    page.close()


def test_guesses_from_a_question_just_sent_are_cleared(server: str, browser: object):
    from playwright.sync_api import expect

    page = _asked_about_the_split_point(browser, server)
    box = page.get_by_label("Your question", exact=True)
    # A follow-up whose words half-name other products: guesses while it is typed...
    box.press_sequentially("and on a qu mixer", delay=20)
    chips = page.locator("#candidates")
    expect(chips).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#candidates-label")).to_have_text("Or did you mean:")
    box.press("Enter")
    expect(page.locator(".msg-answer[data-message-id]")).to_have_count(2, timeout=WAIT_MS)
    # ...that say nothing about the answer, which is about the product in focus.
    expect(chips).to_be_hidden()
    page.close()
