"""The chat page in Debian's chromium, against a real daphne with the demo data.

pytest-django's live server speaks WSGI only, so the page's socket needs daphne: the server
runs in a child process on its own SQLite file, migrated and loaded with `load_demo`, with
the embedded defaults (in-memory channel layer, in-process tasks) and DEBUG off. The demo is
loaded once per run and each module's server gets a copy of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from apps.devtools.processes import project_env, web_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PRODUCT = "Lumenvale LX-88 Stage Piano"
# From the LX-88 demo manual: the split point is set on page 9
# (apps/devtools/evaluation/qa_set.json).
QUESTION = "How do I change the split point?"
CITED_PAGE = 9
WAIT_MS = 30_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing; `make browser-deps` installs it"
    if os.environ.get("HSCJIT_REQUIRE_SERVICES"):
        pytest.fail(f"{message} (HSCJIT_REQUIRE_SERVICES is set, so browser tests must run)")
    pytest.skip(message)


def _manage(env: dict[str, str], command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"


def _site_env(workdir: Path, static_root: Path) -> dict[str, str]:
    return project_env(
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        REDIS_URL="",
        DEBUG="0",
        SECURE="0",
        SECRET_KEY="browser-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        MEDIA_ROOT=str(workdir / "media"),
        STATIC_ROOT=str(static_root),
        ALLOWED_HOSTS="127.0.0.1",
    )


_demo_built: list[Path] = []


def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the demo loaded, its media and the collected static files,
    made once per run: `load_demo` extracts, indexes and embeds the demo manuals, about a
    minute on a slow 2-core machine, and every browser module starts from the same data."""
    if not _demo_built:
        template = tmp_path_factory.mktemp("chat-browser-demo")
        env = _site_env(template, template / "static")
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["load_demo"]):
            _manage(env, command)
        _demo_built.append(template)
    return _demo_built[0]


def demo_server(tmp_path_factory: pytest.TempPathFactory, *setup: list[str]) -> Iterator[str]:
    """Daphne on its own copy of the demo's SQLite file and media; `setup` are more manage.py
    commands run before it starts (so the server's caches see what they made)."""
    _require_chromium()
    template = _demo_template(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("chat-browser")
    shutil.copy2(template / "db.sqlite3", workdir / "db.sqlite3")
    shutil.copytree(template / "media", workdir / "media")
    env = _site_env(workdir, template / "static")
    for command in setup:
        _manage(env, command)
    with web_server(env, workdir=workdir) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from demo_server(tmp_path_factory)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _answer_frames(page: object) -> list[dict]:
    """Every JSON message the page's socket receives, in order."""
    frames: list[dict] = []

    def watch(socket: object) -> None:
        socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", watch)
    return frames


def test_a_customer_sees_the_card_a_streamed_cited_answer_and_the_history_after_reload(
    server: str, browser: object
):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    frames = _answer_frames(page)
    page.goto(f"{server}/chat/")
    expect(page.locator("body.is-connected")).to_have_count(1, timeout=WAIT_MS)

    box = page.get_by_label("Your question")
    box.press_sequentially("lumenvale lx-88", delay=40)
    card = page.locator("#product-card")
    expect(card).to_be_visible(timeout=WAIT_MS)
    expect(card.locator(".card-name")).to_have_text(PRODUCT)
    expect(card.locator(".manual-label")).to_contain_text("Manual ready")

    box.fill(QUESTION)
    box.press("Enter")
    answer = page.locator(".msg-answer[data-message-id]").last
    expect(answer).to_be_visible(timeout=WAIT_MS)
    expect(answer).to_have_attribute("data-state", "answered")
    cite = answer.locator(f'.msg-text a.cite[href$="#page={CITED_PAGE}"]').first
    expect(cite).to_have_attribute(
        "href", re.compile(rf"^/manuals/\d+/document#page={CITED_PAGE}$")
    )
    expect(cite).to_have_attribute("target", "_blank")
    document = page.request.get(server + cite.get_attribute("href").split("#")[0])
    assert document.ok
    assert document.headers["content-type"] == "application/pdf"

    deltas = [frame["text"] for frame in frames if frame["type"] == "answer_delta"]
    end = next(frame for frame in frames if frame["type"] == "answer_end")
    assert deltas, "the answer arrived in pieces"
    assert "".join(deltas) == end["text"]
    assert answer.locator(".msg-text").inner_text().strip() == end["text"].strip()

    answer.get_by_role("button", name="Yes").click()
    expect(answer.locator(".feedback-status")).to_have_text("Thanks for your feedback.")

    page.reload()
    expect(page.locator(".msg-question")).to_contain_text([QUESTION])
    saved = page.locator(f"#message-{end['message_id']}")
    expect(saved.locator(f'a.cite[href$="#page={CITED_PAGE}"]').first).to_be_visible()
    expect(saved.get_by_role("button", name="Yes")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#product-card .card-name")).to_have_text(PRODUCT)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    assert errors == []
    page.close()


def test_an_answer_cut_off_by_a_dropped_connection_is_shown_complete_after_reconnecting(
    server: str, browser: object
):
    from playwright.sync_api import expect

    page = browser.new_page()
    connections: list[object] = []

    def cut_after_answer_start(route: object) -> None:
        # Between page and server: the first connection is dropped as soon as an answer
        # starts (closing the page's side closes the server's too); later ones pass through.
        connections.append(route)
        upstream = route.connect_to_server()

        def forward(message: str | bytes) -> None:
            route.send(message)
            if len(connections) == 1 and json.loads(message)["type"] == "answer_start":
                route.close(code=1012, reason="restarting")

        upstream.on_message(forward)

    page.route_web_socket(re.compile(r"/ws/chat/"), cut_after_answer_start)
    page.goto(f"{server}/chat/")
    box = page.get_by_label("Your question")
    box.press_sequentially("lumenvale lx-88", delay=40)
    expect(page.locator("#product-card .card-name")).to_have_text(PRODUCT, timeout=WAIT_MS)
    box.fill(QUESTION)
    box.press("Enter")

    answer = page.locator(".msg-answer").last
    expect(answer).to_have_attribute("data-message-id", re.compile(r"^\d+$"), timeout=WAIT_MS)
    assert len(connections) >= 2, "the page reconnected"
    saved = page.request.get(f"{page.url}messages").json()["messages"][-1]
    assert saved["role"] == "answer" and saved["state"] == "answered"
    assert answer.get_attribute("data-message-id") == str(saved["id"])
    assert answer.locator(".msg-text").inner_text().strip() == saved["text"].strip()
    expect(answer.locator(f'a.cite[href$="#page={CITED_PAGE}"]').first).to_be_visible()
    expect(page.locator("#connection-banner")).to_be_hidden()
    page.close()


def test_without_javascript_the_form_posts_and_the_page_shows_the_saved_answer(
    server: str, browser: object
):
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/chat/")
    page.get_by_label("Your question").fill(f"{QUESTION} on my Lumenvale LX-88")
    page.get_by_role("button", name="Send").click()

    answer = page.locator(".msg-answer").last
    expect(answer).to_have_attribute("data-state", "answered")
    expect(answer.locator(f'a.cite[href$="#page={CITED_PAGE}"]').first).to_be_visible()
    assert re.search(r"/chat/[0-9a-f-]+/#message-\d+$", page.url)

    answer.get_by_role("button", name="Yes").click()
    answer = page.locator(".msg-answer").last
    expect(answer.get_by_role("button", name="Yes")).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".feedback-status")).to_have_text("Thanks for your feedback.")
    context.close()
