"""Django's Redis and local-memory caches, counted with django-prometheus' cache metrics.

django-prometheus ships such wrappers, but its Redis one needs django-redis and both treat a
stored falsy value as a miss; these count a miss only when the key is absent.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django_prometheus.cache.metrics import (
    django_cache_get_fail_total,
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)

_ABSENT = object()


class _CountedGet:
    metrics_label = ""

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        django_cache_get_total.labels(backend=self.metrics_label).inc()
        try:
            value = super().get(key, _ABSENT, version)  # type: ignore[misc]
        except Exception:
            django_cache_get_fail_total.labels(backend=self.metrics_label).inc()
            raise
        if value is _ABSENT:
            django_cache_misses_total.labels(backend=self.metrics_label).inc()
            return default
        django_cache_hits_total.labels(backend=self.metrics_label).inc()
        return value


class RedisCache(_CountedGet, DjangoRedisCache):
    metrics_label = "redis"


class LocMemCache(_CountedGet, DjangoLocMemCache):
    metrics_label = "locmem"
