"""Project-wide pytest plugin (loaded with `-p apps.devtools.testing`)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from channels.layers import channel_layers
from django.conf import settings
from prometheus_client import REGISTRY
from pytest_django import Settings

T = TypeVar("T")


def services_available() -> bool:
    return bool(settings.REDIS_URL) and settings.DATABASES["default"]["ENGINE"].endswith(
        "postgresql"
    )


@pytest.fixture(autouse=True)
def _no_address_limits(settings: Settings) -> None:
    """Every test client comes from 127.0.0.1, so per-address limits would count the whole
    suite as one customer; the tests of those limits turn them back on."""
    settings.CHAT_ADDRESS_SESSIONS_PER_MINUTE = 0
    settings.CHAT_ADDRESS_CONNECTIONS_PER_MINUTE = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Settings) -> None:
    """Django's advice for test suites: a password hashed with the production hasher costs
    ~0.3 s of CPU, and every staff user, admin client and login of the suite makes one."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """Each async test runs on an event loop of its own, and a Redis channel layer keeps
    locks and buffers bound to the loop it first ran on: every test gets a new layer."""
    yield
    channel_layers.backends.clear()


# post_migrate, which follows every flush, would write these rows again: kept, it finds them.
_MADE_AGAIN_AFTER_A_FLUSH = frozenset({"django_content_type", "auth_permission"})


@pytest.fixture(autouse=True, scope="session")
def _flush_by_delete() -> Iterator[None]:
    """A transactional test ends with a flush of every table. On PostgreSQL that is a TRUNCATE,
    which gives each of ~40 tables and their indexes new files: 0.3 s to over 1 s a test, a
    third of the fast suite's time. DELETE of the few rows a test left takes ~10 ms, in one
    transaction with the foreign keys deferred (Django makes them deferrable), so the order of
    the tables does not matter and the tables end as empty as with TRUNCATE."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def delete(
        self: DatabaseOperations,
        style: Any,
        tables: list[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences:  # only TRUNCATE restarts them
            return truncate(self, style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        return ["SET CONSTRAINTS ALL DEFERRED;"] + [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
            if table not in _MADE_AGAIN_AFTER_A_FLUSH
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", delete)
        yield


@pytest.fixture(autouse=True, scope="session")
def _embeddings_kept_on_disk() -> None:
    """The bundled model gives a text the same vector every time, and embedding the same
    manuals run after run was a third of the fast suite's CPU time: vectors are kept in the
    evaluation's on-disk cache (var/), so a run embeds only text no run has embedded yet.
    CI starts without var/: there every text goes through the model."""
    from apps.devtools.evaluation.answers import use_cached_embeddings

    use_cached_embeddings()


def sample(name: str, **labels: str) -> float:
    """A metric's current value in this process (0 when it has no sample yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def wait_until(check: Callable[[], T], *, within: float = 5.0, every: float = 0.02, what: str) -> T:
    """Call `check` until it returns something truthy without raising; fail after `within`
    seconds. For tests that wait for another thread or process to do something."""
    deadline = time.monotonic() + within
    while True:
        try:
            result = check()
            if result:
                return result
            last: object = result
        except Exception as error:  # what is checked may not be up yet: try again
            last = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {within:g} s (last: {last!r})")
        time.sleep(every)


async def eventually(
    check: Callable[[], Awaitable[T] | T],
    *,
    within: float = 5.0,
    every: float = 0.02,
    what: str,
) -> T:
    """`wait_until` on the event loop: `check` may be a coroutine function, and the loop
    runs the code under test between calls."""
    deadline = time.monotonic() + within
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result  # type: ignore[return-value]
            last: object = result
        except Exception as error:
            last = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {within:g} s (last: {last!r})")
        await asyncio.sleep(every)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if services_available():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)
