from __future__ import annotations

from collections.abc import Iterator

import pytest

from hscjit import cache


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with an empty L1, an empty L2 and L2 not backed off."""
    from django.core.cache import caches

    cache.reset_local_state()
    caches["default"].clear()
    yield
    cache.reset_local_state()
