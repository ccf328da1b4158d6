"""Project-wide pytest plugin (loaded with `-p apps.devtools.testing`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from channels.layers import channel_layers
from django.conf import settings
from pytest_django import Settings


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
def _fresh_channel_layer() -> Iterator[None]:
    """Each async test runs on an event loop of its own, and a Redis channel layer keeps
    locks and buffers bound to the loop it first ran on: every test gets a new layer."""
    yield
    channel_layers.backends.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if services_available():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)
