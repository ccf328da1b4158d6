"""Content-Security-Policy of the pages, and the socket's same-origin check (issue 14, 9-10)."""

from __future__ import annotations

import re

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from apps.sessions.tests.sockets import application, expect_close, make_chat

pytestmark = pytest.mark.django_db(transaction=True)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (directive.split() for directive in header.split(";") if directive)
    }


def test_the_chat_page_has_a_strict_policy_with_a_nonce_and_no_inline_code():
    client = Client()
    page = client.get("/chat/", follow=True)
    assert page.status_code == 200
    policy = _policy(page)
    nonces = [value for value in policy["script-src"] if value.startswith("'nonce-")]
    assert policy["script-src"][0] == "'self'" and len(nonces) == 1
    assert "'unsafe-inline'" not in policy["script-src"] + policy["style-src"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "ws://testserver" in policy["connect-src"]
    html = page.content.decode()
    nonce = nonces[0][len("'nonce-") : -1]
    # Every script is a file of ours carrying the nonce; no inline script, style or handler.
    # (JSON data blocks are not executed, so CSP has nothing to say about them.)
    scripts = [
        tag for tag in re.findall(r"<script\b[^>]*>", html) if 'type="application/json"' not in tag
    ]
    assert scripts and all("src=" in tag and f'nonce="{nonce}"' in tag for tag in scripts)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_the_home_page_has_no_inline_style_either():
    page = Client().get("/")
    assert "<style" not in page.content.decode()
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]


def test_the_admin_gets_a_compatible_policy_inline_style_but_no_inline_script():
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "b@example.com", "pw-long-12345"))
    policy = _policy(client.get("/admin/"))
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert "'unsafe-inline'" not in policy["script-src"]


def test_a_document_keeps_its_own_sandbox_policy(settings, tmp_path):
    # The view's `sandbox` is not replaced by the page policy.
    from apps.manuals.tests.test_document_view import _linked, _stored

    settings.MEDIA_ROOT = tmp_path
    manual = _linked(_stored())
    assert Client().get(f"/manuals/{manual.pk}/document")["Content-Security-Policy"] == "sandbox"


async def _handshake(headers: list[tuple[bytes, bytes]]) -> int | None:
    chat, key = await make_chat()
    comm = WebsocketCommunicator(
        application(),
        f"/ws/chat/{chat.pk}/",
        headers=[*headers, (b"cookie", f"sessionid={key}".encode())],
    )
    await comm.connect()
    await comm.send_json_to({"type": "ping", "ref": "p"})
    output = await comm.receive_output(timeout=5)
    await comm.disconnect()
    return None if output["type"] == "websocket.send" else output.get("code")


@pytest.mark.parametrize(
    ("host", "origin", "refused"),
    [
        (b"127.0.0.1:8000", b"http://127.0.0.1:8000", False),
        (b"127.0.0.1:8000", b"http://127.0.0.1", True),
        (b"127.0.0.1:8000", b"https://127.0.0.1:8000", True),
        (b"127.0.0.1:8000", b"http://localhost:8000", True),
        (b"localhost", b"http://localhost:9999", True),
        (b"evil.example", b"http://evil.example", True),  # not in ALLOWED_HOSTS
    ],
)
async def test_the_socket_origin_must_match_scheme_host_and_port(host, origin, refused):
    code = await _handshake([(b"host", host), (b"origin", origin)])
    assert code == (4403 if refused else None)


async def test_behind_a_tls_proxy_the_https_page_may_open_the_socket():
    headers = [(b"host", b"localhost"), (b"x-forwarded-proto", b"https")]
    assert await _handshake([*headers, (b"origin", b"https://localhost")]) is None
    assert await _handshake([*headers, (b"origin", b"http://localhost")]) == 4403


async def test_a_csrf_trusted_origin_may_open_the_socket(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://support.example:8443"]
    headers = [(b"host", b"127.0.0.1")]
    assert await _handshake([*headers, (b"origin", b"https://support.example:8443")]) is None
    assert await _handshake([*headers, (b"origin", b"https://support.example")]) == 4403


async def test_no_host_header_means_no_own_origin():
    chat, _key = await make_chat()
    comm = WebsocketCommunicator(
        application(), f"/ws/chat/{chat.pk}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    await comm.connect()
    assert await expect_close(comm) == 4403
