"""Helpers for driving the chat socket in tests: the ASGI stack, a small catalog, owned chats."""

from __future__ import annotations

import json
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache

from apps.manuals.models import Manual
from apps.manuals.selectors import MANUAL_STATES_VERSION_KEY
from apps.manuals.services import attach_document
from apps.products.models import Brand, Product
from apps.products.prediction import build_index
from apps.sessions import cards
from apps.sessions.models import ChatSession
from hscjit.asgi import websocket_application

ORIGIN = (b"origin", b"http://127.0.0.1")
# The Host a browser sends with that Origin: the origin check compares the two.
HOST = (b"host", b"127.0.0.1")


def application() -> Any:
    return websocket_application()


@database_sync_to_async
def make_catalog() -> dict[str, Any]:
    boss = Brand.objects.create(slug="boss", name="Boss")
    manual = Manual.objects.create(title="RC-600", source_url="https://example.test/rc600.pdf")
    rc600 = Product.objects.create(catalog_id="boss-rc-600", name="Boss RC-600", brand=boss)
    attach_document(manual=manual, product=rc600)
    Product.objects.create(catalog_id="boss-rc-505mk2", name="Boss RC-505MKII", brand=boss)
    Product.objects.create(catalog_id="boss-katana-50", name="Boss Katana-50 Gen 3", brand=boss)
    # A version of its own: cached cards are keyed by catalog version.
    version = uuid.uuid4().int % 10**12
    return {
        "rc600": rc600,
        "manual": manual,
        "index": build_index(version=version),
    }


def refresh_manual_states() -> None:
    """Make this process re-read every manual's status, as a published change would."""
    cache.set(MANUAL_STATES_VERSION_KEY, uuid.uuid4().hex)
    cards.refresh()


@database_sync_to_async
def make_chat(owner_key: str | None = None) -> tuple[ChatSession, str]:
    store = SessionStore()
    store.create()
    chat = ChatSession.objects.create(owner_key=owner_key or store.session_key)
    return chat, store.session_key


def communicator(
    chat_id: Any, cookie: str | None, origin: tuple[bytes, bytes] | None = ORIGIN
) -> WebsocketCommunicator:
    headers = [HOST, origin] if origin is not None else [HOST]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application(), f"/ws/chat/{chat_id}/", headers=headers)


async def ask(comm: WebsocketCommunicator, message: Any) -> dict[str, Any]:
    await comm.send_to(text_data=message if isinstance(message, str) else json.dumps(message))
    return await comm.receive_json_from(timeout=5)


async def expect_close(comm: WebsocketCommunicator) -> int:
    output = await comm.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output.get("code")


def client_socket(client: Any, session_id: object) -> WebsocketCommunicator:
    """A socket to the chat, carrying the session cookie of a logged Django test client."""
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return WebsocketCommunicator(
        application(),
        f"/ws/chat/{session_id}/",
        headers=[HOST, ORIGIN, (b"cookie", cookie.encode())],
    )


async def receive_type(comm: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    """The next message of this type, skipping the others."""
    while True:
        message = await comm.receive_json_from(timeout=10)
        if message["type"] == kind:
            return message
