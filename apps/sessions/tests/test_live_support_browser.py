"""Live support in Debian's chromium: a customer asks for a person, an agent answers from the
staff console, each sees the other live (a real daphne, the demo data)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.sessions.tests.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    demo_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "agent-password-for-browser-tests-0123"
SETUP = (
    "import datetime as dt\n"
    "from django.contrib.auth.models import Group, User\n"
    "from apps.sessions.models import OpeningHours\n"
    "OpeningHours.objects.all().delete()\n"
    "OpeningHours.objects.bulk_create(OpeningHours(weekday=d, opens=dt.time(0),"
    " closes=dt.time(23, 59, 59)) for d in range(7))\n"
    f"user = User.objects.create_user('dana', password={PASSWORD!r}, is_staff=True,"
    " first_name='Dana')\n"
    "user.groups.add(Group.objects.get(name='Support agents'))\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from demo_server(tmp_path_factory, ["shell", "-c", SETUP])


def test_a_customer_asks_for_a_person_and_an_agent_answers_from_the_console(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        errors: list[str] = []
        agent_context = browser.new_context(viewport={"width": 1280, "height": 900})
        console = agent_context.new_page()
        console.on("pageerror", lambda error: errors.append(f"console: {error}"))
        console.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
        console.goto(f"{server}/support/")
        console.fill("#id_username", "dana")
        console.fill("#id_password", PASSWORD)
        console.click("input[type=submit]")
        expect(console.locator("#console-status")).to_have_text("Live", timeout=WAIT_MS)

        customer = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        customer.on("pageerror", lambda error: errors.append(f"chat: {error}"))
        customer.on("console", lambda m: m.type == "error" and errors.append(f"chat: {m.text}"))
        customer.goto(f"{server}/chat/")
        expect(customer.locator("body.is-connected")).to_have_count(1, timeout=WAIT_MS)
        customer.get_by_role("button", name="Talk to a person").click()
        expect(customer.locator("#handoff-text")).to_contain_text("shortly", timeout=WAIT_MS)

        item = console.locator("#queue .queue-item").first
        expect(item).to_be_visible(timeout=WAIT_MS)
        expect(console.locator("#waiting-count")).to_have_text("1")
        item.locator("button").click()
        console.get_by_role("button", name="Claim").click()
        expect(customer.locator("#handoff-text")).to_contain_text("Dana", timeout=WAIT_MS)

        reply = console.get_by_label("Your reply")
        reply.press_sequentially("Hello, ", delay=30)
        expect(customer.locator("#agent-typing")).to_contain_text("Dana", timeout=WAIT_MS)
        reply.type("the warranty in Israel is two years.")
        reply.press("Enter")
        message = customer.locator(".msg-agent").last
        expect(message.locator(".msg-text")).to_have_text(
            "Hello, the warranty in Israel is two years.", timeout=WAIT_MS
        )
        expect(message.locator(".msg-agent-name")).to_have_text("Dana")

        customer.get_by_label("Your question").fill("And in Eilat?")
        customer.get_by_label("Your question").press("Enter")
        expect(console.locator("#transcript .line-question").last).to_have_text(
            "CustomerAnd in Eilat?", timeout=WAIT_MS
        )

        # After a reload the customer still sees the agent's reply, once.
        customer.reload()
        expect(customer.locator(".msg-agent")).to_have_count(1, timeout=WAIT_MS)
        expect(customer.locator("#handoff-text")).to_contain_text("Dana", timeout=WAIT_MS)

        ARTIFACTS.mkdir(exist_ok=True)
        console.screenshot(path=str(ARTIFACTS / "support-console.png"), full_page=True)
        customer.screenshot(path=str(ARTIFACTS / "chat-with-agent.png"), full_page=True)

        # Closed, the conversation stays to read, with nothing left to do on it.
        console.get_by_role("button", name="Close").click()
        expect(console.locator("#conversation-meta")).to_contain_text("closed", timeout=WAIT_MS)
        for name in ("Claim", "Hand back to the bot", "Back to the queue", "Close"):
            expect(console.get_by_role("button", name=name)).to_be_hidden()
        expect(console.locator("#reply-form")).to_be_hidden()
        expect(customer.locator("#handoff-text")).to_contain_text("closed", timeout=WAIT_MS)
        browser.close()
    assert errors == []
