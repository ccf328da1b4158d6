"""Limits per client address: new chats (429 page) and new sockets (4429), shared through the
cache so they hold across web processes, off with 0, and open when the cache is down."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import Client
from pytest_django import Settings
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.sessions import ratelimit
from apps.sessions.models import ChatSession
from apps.sessions.ratelimit import allow_address, client_address
from apps.sessions.tests.sockets import communicator, expect_close, make_chat
from hscjit import cache

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_counts() -> Iterator[None]:
    caches["default"].clear()
    cache.reset_local_state()
    yield
    cache.reset_local_state()


# --- which address --------------------------------------------------------------------------


def test_without_a_trusted_proxy_the_peer_is_the_client_and_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(peer="198.51.100.7", forwarded_for="203.0.113.1") == "198.51.100.7"
    assert client_address(peer=None, forwarded_for="203.0.113.1") is None


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "client"),
    [
        (1, "203.0.113.1", "203.0.113.1"),
        # Entries left of the proxies' own were written by the client: a forgery changes nothing.
        (1, "10.9.9.9, 203.0.113.1", "203.0.113.1"),
        (2, "10.9.9.9, 203.0.113.1, 192.0.2.10", "203.0.113.1"),
        (1, "2001:db8::1", "2001:db8::1"),
        # Shorter than the chain of proxies, or empty: it did not come through them.
        (2, "203.0.113.1", "192.0.2.254"),
        (1, "", "192.0.2.254"),
        (1, "203.0.113.1, ", "192.0.2.254"),
    ],
)
def test_behind_trusted_proxies_the_client_is_the_hop_the_outermost_one_saw(
    settings, proxies, forwarded_for, client
):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_address(peer="192.0.2.254", forwarded_for=forwarded_for) == client


def test_a_socket_scope_gives_the_same_address_as_a_request(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    scope = {
        "client": ["192.0.2.254", 41000],
        "headers": [(b"x-forwarded-for", b"10.9.9.9"), (b"x-forwarded-for", b"203.0.113.1")],
    }
    assert ratelimit.scope_address(scope) == "203.0.113.1"
    assert ratelimit.scope_address({"client": None, "headers": []}) is None


# --- counting ---------------------------------------------------------------------------------


def test_a_limit_counts_per_address_and_minute(settings):
    settings.CHAT_ADDRESS_SESSIONS_PER_MINUTE = 2
    minute = 1_000_020.0
    assert [allow_address(kind="sessions", address="a", now=minute) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert allow_address(kind="sessions", address="b", now=minute)
    assert allow_address(kind="connections", address="a", now=minute)
    assert allow_address(kind="sessions", address="a", now=minute + 60)


def test_zero_turns_a_limit_off(settings):
    settings.CHAT_ADDRESS_SESSIONS_PER_MINUTE = 0
    assert all(allow_address(kind="sessions", address="a") for _ in range(500))


def test_the_count_lives_in_the_shared_cache(settings):
    settings.CHAT_ADDRESS_SESSIONS_PER_MINUTE = 1
    assert allow_address(kind="sessions", address="a", now=60.0)
    # Another process has its own memory but the same cache: forgetting this process's local
    # state changes nothing, emptying the shared cache resets the count.
    cache.reset_local_state()
    assert not allow_address(kind="sessions", address="a", now=60.0)
    caches["default"].clear()
    assert allow_address(kind="sessions", address="a", now=60.0)


def test_the_limit_fails_open_when_the_cache_is_down(settings, monkeypatch, caplog):
    settings.CHAT_ADDRESS_SESSIONS_PER_MINUTE = 1
    backend = type(caches["default"])

    def down(*args, **kwargs):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(backend, "add", down)
    client = Client(REMOTE_ADDR="198.51.100.7")
    with caplog.at_level(logging.WARNING):
        statuses = [client.get("/chat/").status_code for _ in range(3)]
    assert statuses == [302, 302, 302]
    assert any("unavailable" in record.getMessage() for record in caplog.records)


# --- the chat page ----------------------------------------------------------------------------


def test_new_chats_past_the_limit_get_a_429_page(settings: Settings):
    settings.CHAT_ADDRESS_SESSIONS_PER_MINUTE = 3
    client = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [client.get("/chat/").status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    refused = client.get("/chat/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert b"Please wait a moment" in refused.content
    assert ChatSession.objects.count() == 3
    assert Client(REMOTE_ADDR="198.51.100.8").get("/chat/").status_code == 302


def test_behind_a_proxy_each_customer_has_their_own_limit(settings: Settings):
    settings.CHAT_ADDRESS_SESSIONS_PER_MINUTE = 1
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = Client(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert first.get("/chat/").status_code == 302
    assert first.get("/chat/").status_code == 429
    forged = Client(**proxy, HTTP_X_FORWARDED_FOR="10.1.2.3, 203.0.113.1")
    assert forged.get("/chat/").status_code == 429
    other = Client(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert other.get("/chat/").status_code == 302


# --- the socket -------------------------------------------------------------------------------


async def test_new_sockets_past_the_limit_are_closed_with_4429(settings: Settings):
    settings.CHAT_ADDRESS_CONNECTIONS_PER_MINUTE = 2
    chat, key = await make_chat()

    async def connect(address: str) -> int | None:
        comm = communicator(chat.pk, key)
        comm.scope["client"] = [address, 50000]
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "ping"})
        output = await comm.receive_output(timeout=5)
        await comm.disconnect()
        return output.get("code") if output["type"] == "websocket.close" else None

    assert [await connect("198.51.100.7") for _ in range(3)] == [None, None, 4429]
    assert await connect("198.51.100.8") is None


async def test_the_socket_limit_applies_before_the_chat_is_looked_up(settings: Settings):
    settings.CHAT_ADDRESS_CONNECTIONS_PER_MINUTE = 1
    chat, key = await make_chat()
    for chat_id, expected in ((chat.pk, None), ("00000000-0000-4000-8000-000000000000", 4429)):
        comm = communicator(chat_id, key)
        comm.scope["client"] = ["198.51.100.7", 50000]
        await comm.connect()
        if expected is None:
            await comm.disconnect()
            continue
        # Over the limit, an unknown chat is refused with 4429, not 4404.
        assert await expect_close(comm) == expected


def test_a_counter_that_expires_mid_count_starts_the_new_window_at_one(monkeypatch):
    backend = type(caches["default"])

    def expired(self, key, delta=1, version=None):
        caches["default"].delete(key)
        raise ValueError(f"Key {key!r} not found")

    monkeypatch.setattr(backend, "incr", expired)
    assert cache.incr("address_limit:test", timeout=60) == 1
