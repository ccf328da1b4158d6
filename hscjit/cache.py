"""The two-layer cache: a bounded in-process LRU (L1) in front of Django's default cache (L2).

L2 is Redis when REDIS_URL is set, so every web and worker process shares it; L1 saves the
round trip and the unpickling for what this process asked for recently. Keys are
`"<prefix>:<rest>"`; the prefix (the part before the first colon) is a namespace whose
version token lives in L2, so `invalidate_prefix` drops a whole namespace in every process
without scanning keys. Other processes notice a new token within CACHE_VERSION_TTL seconds,
and an L1 entry never outlives CACHE_L1_TTL, which bounds how stale a process can be.

When Redis is down nothing is raised to callers: L1 keeps serving, L2 reads count as misses,
writes are dropped, and L2 is tried again after CACHE_L2_RETRY_SECONDS.

L1 hands out the stored object itself, not a copy: treat cached values as read-only.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db.models import Model
from redis.exceptions import RedisError

from hscjit.metrics import CACHE_HITS, CACHE_MISSES

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_MISSING: Any = object()
# Longer keys are hashed so that any backend accepts them.
_MAX_KEY_LENGTH = 200
_VERSION_KEY = "hscjit-cache-version:{prefix}"


class _LRU:
    """A thread-safe LRU of (expires_at, value) with a fixed number of entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return _MISSING
            expires_at, value = entry
            if expires_at <= time.monotonic():
                del self._entries[key]
                return _MISSING
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: Any, ttl: float) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class _L2:
    """Django's default cache, switched off for a short back-off after a connection error."""

    def __init__(self) -> None:
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    @property
    def down_for(self) -> float:
        return max(0.0, self._down_until - time.monotonic())

    def _failed(self, operation: str, error: Exception) -> None:
        with self._lock:
            first = self.available
            self._down_until = time.monotonic() + settings.CACHE_L2_RETRY_SECONDS
        if first:
            logger.warning(
                "L2 cache unavailable during %s (%s); serving from L1, retrying in %ss",
                operation,
                error,
                settings.CACHE_L2_RETRY_SECONDS,
            )

    def call(self, operation: str, *args: Any) -> Any:
        """Run `caches["default"].<operation>(*args)`; `_MISSING` when L2 is down."""
        if not self.available:
            return _MISSING
        try:
            return getattr(caches["default"], operation)(*args)
        except (RedisError, OSError) as error:
            self._failed(operation, error)
            return _MISSING

    def reset(self) -> None:
        self._down_until = 0.0


class _Versions:
    """The current token of each prefix, remembered for CACHE_VERSION_TTL seconds."""

    def __init__(self, l2: _L2) -> None:
        self._l2 = l2
        self._known: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, prefix: str) -> str:
        now = time.monotonic()
        known = self._known.get(prefix)
        if known is not None and known[0] > now:
            return known[1]
        key = _VERSION_KEY.format(prefix=prefix)
        token = self._l2.call("get", key)
        if token is None:
            # First use anywhere, or Redis lost its data: agree on one token (add is atomic in
            # Redis), offering the one this process has been writing under.
            offer = known[1] if known is not None else secrets.token_hex(4)
            self._l2.call("add", key, offer, None)
            token = self._l2.call("get", key)
        if token is None or token is _MISSING:
            # L2 is down: keep the token we had, or make one up that only this process uses.
            token = known[1] if known is not None else secrets.token_hex(4)
        with self._lock:
            self._known[prefix] = (now + settings.CACHE_VERSION_TTL, token)
        return token

    def bump(self, prefix: str) -> None:
        token = secrets.token_hex(4)
        if self._l2.call("set", _VERSION_KEY.format(prefix=prefix), token, None) is _MISSING:
            logger.warning("cache prefix %r invalidated in this process only: L2 is down", prefix)
        with self._lock:
            self._known[prefix] = (time.monotonic() + settings.CACHE_VERSION_TTL, token)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


_l2 = _L2()
_versions = _Versions(_l2)
_l1 = _LRU(settings.CACHE_L1_SIZE)


def _split(key: str) -> tuple[str, str]:
    prefix, sep, rest = key.partition(":")
    if not sep or not prefix:
        raise ValueError(f"cache key {key!r} must look like '<prefix>:<rest>'")
    return prefix, rest


def _full_key(key: str) -> str:
    prefix, rest = _split(key)
    token = _versions.get(prefix)
    if len(rest) > _MAX_KEY_LENGTH or not rest.isprintable() or " " in rest:
        rest = "h:" + hashlib.sha256(rest.encode()).hexdigest()
    return f"{prefix}@{token}:{rest}"


def _ttl(timeout: int | None) -> int:
    return settings.CACHE_TTL if timeout is None else timeout


def get(key: str, default: Any = None) -> Any:
    """The value stored under `key`, from L1, else from L2 (which refills L1), else `default`."""
    full = _full_key(key)
    value = _l1.get(full)
    if value is not _MISSING:
        CACHE_HITS.labels(layer="l1").inc()
        return value
    CACHE_MISSES.labels(layer="l1").inc()
    value = _l2.call("get", full, _MISSING)
    if value is _MISSING:
        CACHE_MISSES.labels(layer="l2").inc()
        return default
    CACHE_HITS.labels(layer="l2").inc()
    _l1.set(full, value, settings.CACHE_L1_TTL)
    return value


def set(key: str, value: Any, timeout: int | None = None) -> None:
    """Store `value` in both layers; `timeout` seconds in L2 (default CACHE_TTL, 24 h)."""
    ttl = _ttl(timeout)
    full = _full_key(key)
    if ttl <= 0:
        _l1.delete(full)
        _l2.call("delete", full)
        return
    _l1.set(full, value, min(ttl, settings.CACHE_L1_TTL))
    _l2.call("set", full, value, ttl)


def delete(key: str) -> None:
    """Forget `key` here and in L2 (other processes' L1 copies expire within CACHE_L1_TTL)."""
    full = _full_key(key)
    _l1.delete(full)
    _l2.call("delete", full)


def incr(key: str, *, timeout: int) -> int | None:
    """Add one to a counter that every process shares (L2 only); None while L2 is down.

    The counter starts at 1 and disappears `timeout` seconds after it was created, which is
    what a fixed-window rate limit needs; callers decide what an unknown count means.
    """
    full = _full_key(key)
    if _l2.call("add", full, 0, timeout) is _MISSING:
        return None
    try:
        count = _l2.call("incr", full)
    except ValueError:
        # The counter expired between add and incr: this is the first hit of a new window.
        count = 1 if _l2.call("add", full, 1, timeout) is not _MISSING else _MISSING
    return None if count is _MISSING else int(count)


def invalidate_prefix(prefix: str) -> None:
    """Forget every key under `prefix` in every process, by moving the prefix to a new version."""
    prefix = prefix.removesuffix(":")
    if not prefix or ":" in prefix:
        raise ValueError(f"invalidate a whole prefix such as 'product_card', not {prefix!r}")
    _versions.bump(prefix)


def _key_part(value: Any) -> str:
    if isinstance(value, Model):
        return f"{value._meta.label_lower}#{value.pk}"
    if isinstance(value, str | int | float | bool | bytes | type(None)):
        return repr(value)
    if isinstance(value, tuple | list | frozenset):
        return type(value).__name__ + "(" + ",".join(_key_part(item) for item in value) + ")"
    if isinstance(value, Hashable) and type(value).__repr__ is not object.__repr__:
        return repr(value)
    raise TypeError(f"cannot build a cache key from a {type(value).__name__}")


def cached(prefix: str, timeout: int | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache a function's result under `prefix`, keyed by its arguments.

    Arguments may be strings, numbers, None, model instances (keyed by pk) and tuples of
    these. A result of None is cached like any other.
    """
    if ":" in prefix:
        raise ValueError(f"a cache prefix has no colon: {prefix!r}")

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        name = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            parts = [_key_part(arg) for arg in args]
            parts += [f"{name}={_key_part(value)}" for name, value in sorted(kwargs.items())]
            digest = hashlib.sha256("|".join([name, *parts]).encode()).hexdigest()[:32]
            key = f"{prefix}:{digest}"
            value = get(key, _MISSING)
            if value is not _MISSING:
                return value
            value = function(*args, **kwargs)
            set(key, value, timeout)
            return value

        return wrapper

    return decorate


def stats() -> dict[str, Any]:
    """This process's view of the cache, for `manage.py cache_stats` and tests."""
    return {
        "l1_entries": len(_l1),
        "l1_size": _l1.size,
        "l2_backend": caches["default"].__class__.__name__,
        "l2_available": _l2.available,
        "l2_retry_in_seconds": round(_l2.down_for, 1),
    }


def reset_local_state() -> None:
    """Empty L1 and forget prefix versions and L2 back-off (settings changed, or a fork)."""
    global _l1
    _l1 = _LRU(settings.CACHE_L1_SIZE)
    _versions.clear()
    _l2.reset()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CACHES", "CACHE_L1_SIZE", "CACHE_L1_TTL", "CACHE_VERSION_TTL"}:
        reset_local_state()


setting_changed.connect(_on_setting_changed)
