from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from hscjit import cache


def sample(name: str, **labels: str) -> float:
    """A metric's current value in this process (0 when it has no sample yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts with an empty L1, an empty L2 and L2 not backed off."""
    from django.core.cache import caches

    cache.reset_local_state()
    caches["default"].clear()
    yield
    cache.reset_local_state()
