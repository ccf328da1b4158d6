"""The security list of issue 9: session isolation, origins, CSRF, the admin, deploy checks.

Rate limits per connection are in test_consumer and test_hostile, per client address in
test_address_limits.
"""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize

from apps.products.models import Brand, Product
from apps.sessions.models import ChatSession, Feedback, Message
from apps.sessions.tests.sockets import communicator, expect_close

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(settings.BASE_DIR)


def start_chat(client: Client) -> ChatSession:
    response = client.get("/chat/")
    assert response.status_code == 302
    return ChatSession.objects.get(pk=response["Location"].strip("/").split("/")[-1])


def csrf_token(client: Client) -> str:
    # The chat page sets the cookie; the forms carry the same token.
    return client.cookies["csrftoken"].value


def an_answer(chat: ChatSession) -> Message:
    question = Message.objects.create(session=chat, role=Message.Role.QUESTION, text="q?")
    return Message.objects.create(
        session=chat, role=Message.Role.ANSWER, text="a.", question=question
    )


# --- session isolation ------------------------------------------------------------------------


def test_another_browser_cannot_read_or_write_a_chat():
    owner, stranger = Client(), Client(enforce_csrf_checks=True)
    chat = start_chat(owner)
    answer = an_answer(chat)
    stranger.get(f"/chat/{start_chat(stranger).pk}/")
    token = {"csrfmiddlewaretoken": csrf_token(stranger)}
    base = f"/chat/{chat.pk}"
    assert stranger.get(f"{base}/").status_code == 404
    assert stranger.get(f"{base}/messages").status_code == 404
    ask = stranger.post(f"{base}/ask", {**token, "text": "how do I loop?"})
    feedback = stranger.post(f"{base}/feedback", {**token, "message_id": answer.pk, "rating": "1"})
    assert (ask.status_code, feedback.status_code) == (404, 404)
    assert chat.messages.count() == 2 and not Feedback.objects.exists()
    # The owner can do all of it: the 404s above are about ownership.
    assert owner.get(f"{base}/").status_code == 200
    assert owner.get(f"{base}/messages").json()["messages"]


def test_a_guessed_chat_id_is_not_found():
    client = Client()
    start_chat(client)
    for chat_id in (uuid.uuid4(), uuid.UUID(int=0)):
        assert client.get(f"/chat/{chat_id}/").status_code == 404
        assert client.get(f"/chat/{chat_id}/messages").status_code == 404


async def test_another_browser_cannot_open_the_socket():
    @database_sync_to_async
    def two_browsers() -> tuple[ChatSession, str, str]:
        owner, stranger = Client(), Client()
        chat = start_chat(owner)
        start_chat(stranger)
        return chat, owner.cookies["sessionid"].value, stranger.cookies["sessionid"].value

    chat, owner_cookie, stranger_cookie = await two_browsers()
    for cookie in (stranger_cookie, None, "forged-session-key"):
        comm = communicator(chat.pk, cookie)
        await comm.connect()
        assert await expect_close(comm) == 4403
    comm = communicator(chat.pk, owner_cookie)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "ping", "ref": "p"})
    assert await comm.receive_json_from(timeout=5) == {"type": "pong", "ref": "p"}
    await comm.disconnect()


# --- origin checks ----------------------------------------------------------------------------
# A browser always sends Origin on a WebSocket handshake, and other clients are told to
# (PROTOCOL.md): a handshake without one is refused, like a foreign one, so a page elsewhere
# cannot ride on the customer's cookie. The socket is closed with 4403 before the consumer runs.


@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"http://127.0.0.1.evil.example",
        b"http://evil.example/127.0.0.1",
        b"null",
        b"",
        None,
        # The right host is not enough: scheme and port must match the page's too.
        b"http://127.0.0.1:9999",
        b"https://127.0.0.1",
        b"http://localhost",
    ],
)
async def test_a_socket_from_a_foreign_or_missing_origin_is_refused(origin):
    chat, key = await _owned_chat()
    comm = communicator(chat.pk, key, origin=None if origin is None else (b"origin", origin))
    await comm.connect()
    assert await expect_close(comm) == 4403


@pytest.mark.parametrize("origin", [b"http://127.0.0.1", b"HTTP://127.0.0.1:80"])
async def test_a_socket_from_the_pages_own_origin_is_accepted(origin):
    chat, key = await _owned_chat()
    comm = communicator(chat.pk, key, origin=(b"origin", origin))
    assert (await comm.connect())[0]
    await comm.disconnect()


@database_sync_to_async
def _owned_chat() -> tuple[ChatSession, str]:
    client = Client()
    return start_chat(client), client.cookies["sessionid"].value


# --- CSRF -------------------------------------------------------------------------------------


def _leaves(resolver: URLResolver, regex: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in resolver.url_patterns:
        full = regex + pattern.pattern.regex.pattern.lstrip("^")
        if isinstance(pattern, URLResolver):
            yield from _leaves(pattern, full)
        else:
            yield full, pattern


def every_route(*, chat_id: str | None = None) -> list[str]:
    """One concrete path for every view in the URLconf (admin included)."""
    labels = [app.label for app in apps.get_app_configs()]
    values = ["1", chat_id or str(uuid.uuid4()), "x", *labels]
    paths, unreached = [], []
    for regex, pattern in _leaves(get_resolver()):
        path = next(
            (
                candidate
                for template, params in normalize(regex)
                for combo in itertools.product(values, repeat=len(params))
                if _reaches(candidate := "/" + template % dict(zip(params, combo)), pattern)
            ),
            None,
        )
        (paths if path else unreached).append(path or regex)
    assert not unreached, f"no sample path reaches {unreached}"
    return paths


def _reaches(path: str, pattern: URLPattern) -> bool:
    try:
        return resolve(path).func == pattern.callback
    except Resolver404:
        return False


def test_every_view_refuses_a_post_without_a_csrf_token():
    # A staff member in the middle of a chat: every view would otherwise act on the POST.
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("staff", "staff@example.test", "pw"))
    chat = start_chat(client)
    answer = an_answer(chat)
    routes = every_route(chat_id=str(chat.pk))
    assert {"/chat/", "/admin/login/", f"/chat/{chat.pk}/ask", f"/chat/{chat.pk}/feedback"} <= set(
        routes
    )
    accepted = {}
    for route in routes:
        response = client.post(route, {"text": "hi", "message_id": answer.pk, "rating": "1"})
        if response.status_code != 403 or b"CSRF" not in response.content:
            accepted[route] = response.status_code
    assert accepted == {}
    assert chat.messages.count() == 2 and not Feedback.objects.exists()


def test_the_chat_forms_work_with_their_token():
    client = Client(enforce_csrf_checks=True)
    chat = start_chat(client)
    page = client.get(f"/chat/{chat.pk}/")
    assert page.content.count(b'name="csrfmiddlewaretoken"') >= 1
    answer = an_answer(chat)
    response = client.post(
        f"/chat/{chat.pk}/feedback",
        {"csrfmiddlewaretoken": csrf_token(client), "message_id": answer.pk, "rating": "1"},
    )
    assert response.status_code == 302
    assert Feedback.objects.get().rating == 1


# --- the admin --------------------------------------------------------------------------------


def _admin_pages() -> list[str]:
    open_to_all = {"/admin/login/", "/admin/logout/"}
    return [r for r in every_route() if r.startswith("/admin/") and r not in open_to_all]


def test_the_admin_sends_anonymous_visitors_to_the_login_page():
    client = Client()
    pages = _admin_pages()
    assert len(pages) > 50
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/"), page


def test_the_admin_is_closed_to_a_customer_account():
    customer = User.objects.create_user("customer", "c@example.test", "pw")
    client = Client()
    client.force_login(customer)
    for page in _admin_pages():
        response = client.get(page)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], page
    brand = Brand.objects.create(slug="boss", name="Boss")
    client.post("/admin/products/product/add/", {"catalog_id": "x", "name": "X", "brand": brand.pk})
    assert not Product.objects.exists()
    # Staff get in, which is what makes the redirects above mean something.
    customer.is_staff = customer.is_superuser = True
    customer.save()
    assert client.get("/admin/").status_code == 200


# --- deployment checks ------------------------------------------------------------------------


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DEBUG": "0",
        "SECURE": "1",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "support.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
