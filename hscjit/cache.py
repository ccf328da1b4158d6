"""The one cache module: the two-layer cache, and how derived data keeps up with its source.

**Two layers.** A bounded in-process LRU (L1) in front of Django's default cache (L2). L2 is
Redis when REDIS_URL is set, so every web and worker process shares it; L1 saves the round
trip and the unpickling for what this process asked for recently, and an L1 entry never
outlives CACHE_L1_TTL, which bounds how stale a process can be after a `delete`. Keys are
`"<prefix>:<rest>"`. Shared counters and claims (`incr`, `add`) live in L2 only.

When Redis is down nothing is raised to callers: L1 keeps serving, L2 reads count as misses,
writes are dropped, and L2 is tried again after CACHE_L2_RETRY_SECONDS.

L1 hands out the stored object itself, not a copy: treat cached values as read-only.

**Versions of derived data.** Nothing derived is invalidated; it is keyed by, or built
under, the version of what it was derived from, and a new version simply misses:

- a version the source row carries: a manual's `version` keys its passage index and the
  answers quoted from it;
- a `Version`, for a source without such a column: the catalog (a number whose truth is a
  database row, mirrored in L2) and the manual states (a token in L2). It is read from L2,
  never L1, and moved after the transaction that changed the source commits;
- `VersionedHolder`, one process's built copy (the prediction index, the manual states),
  which compares its version with the current one off the hot path and rebuilds when it
  moved: an edit reaches every process within about a second.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import close_old_connections, transaction
from redis.exceptions import RedisError

from hscjit.metrics import CACHE_HITS, CACHE_MISSES

logger = logging.getLogger(__name__)

_MISSING: Any = object()
# Longer keys are hashed so that any backend accepts them.
_MAX_KEY_LENGTH = 200
# How long L2 keeps a durable version read from the database: briefly, because a move may
# commit while the read is in flight.
DURABLE_MIRROR_SECONDS = 5
# How often a VersionedHolder compares its version with the current one.
CHECK_INTERVAL = 0.5


class LocalLRU:
    """A thread-safe LRU of this process with a fixed number of entries, each with a lifetime
    (L1, and the big objects no other process could use: passage indexes, word vectors)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            expires_at, value = entry
            if expires_at <= time.monotonic():
                del self._entries[key]
                return default
            self._entries.move_to_end(key)
            return value

    def set(self, key: Hashable, value: Any, ttl: float = math.inf) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def delete(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

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


_l2 = _L2()
_l1 = LocalLRU(settings.CACHE_L1_SIZE)


def _split(key: str) -> tuple[str, str]:
    prefix, sep, rest = key.partition(":")
    if not sep or not prefix:
        raise ValueError(f"cache key {key!r} must look like '<prefix>:<rest>'")
    return prefix, rest


def _full_key(key: str) -> str:
    prefix, rest = _split(key)
    if len(rest) > _MAX_KEY_LENGTH or not rest.isprintable() or " " in rest:
        rest = "h:" + hashlib.sha256(rest.encode()).hexdigest()
    return f"{prefix}:{rest}"


def _ttl(timeout: int | None) -> int:
    return settings.CACHE_TTL if timeout is None else timeout


def get(key: str, default: Any = None) -> Any:
    """The value stored under `key`, from L1, else from L2 (which refills L1), else `default`."""
    full = _full_key(key)
    value = _l1.get(full, _MISSING)
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


def add(key: str, value: Any, *, timeout: int) -> bool | None:
    """Store `value` unless the key exists, in L2 only (a claim every process sees): True for
    the one caller that stored it; None while L2 is down, and callers decide what that means."""
    added = _l2.call("add", _full_key(key), value, timeout)
    return None if added is _MISSING else bool(added)


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
    """Empty L1 and forget L2's back-off (settings changed, or a fork)."""
    global _l1
    _l1 = LocalLRU(settings.CACHE_L1_SIZE)
    _l2.reset()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CACHES", "CACHE_L1_SIZE", "CACHE_L1_TTL"}:
        reset_local_state()


setting_changed.connect(_on_setting_changed)


# --- Versions of derived data -------------------------------------------------------------


class Version:
    """The version of one kind of derived data, the same in every process.

    With `durable`, the version is a number whose truth is a database row (the catalog's
    stamp): L2 mirrors it, and while L2 does not have it (cold, flushed or down) `durable()`
    answers. Without, it is a token that lives in L2 only, None until it first moves.
    """

    def __init__(self, key: str, *, durable: Callable[[], Hashable] | None = None) -> None:
        # A key of L2's own, outside the "<prefix>:<rest>" keys of get and set.
        self.key = key
        self._durable = durable

    def current(self) -> Hashable:
        """Read from L2 on every call: callers that ask often are VersionedHolders, which
        ask at most every CHECK_INTERVAL seconds."""
        value = _l2.call("get", self.key)
        if value is not None and value is not _MISSING:
            return value
        if self._durable is None:
            return None
        value = self._durable()
        # Only a committed number may be mirrored: this transaction may be the one moving it.
        if value is not None and not transaction.get_connection().in_atomic_block:
            _l2.call("add", self.key, value, DURABLE_MIRROR_SECONDS)
        return value

    def move(self, value: Hashable | None = None) -> None:
        """Publish `value` (the durable number just written), or a new token, once the
        current transaction commits, so that no process rebuilds from rows it cannot see yet.
        """
        if self._durable is not None:
            # Meanwhile readers fall back to the row; in this transaction they see it moved.
            _l2.call("delete", self.key)
        transaction.on_commit(lambda: self.publish(value))

    def publish(self, value: Hashable | None = None) -> None:
        """Move the version now: for an after-commit effect that does more (`move` is the
        usual way)."""
        new = secrets.token_hex(8) if value is None else value
        if _l2.call("set", self.key, new, None) is _MISSING:
            logger.warning("version %s not published: L2 is down", self.key)


class Versioned(Protocol):
    @property
    def version(self) -> Hashable: ...


V = TypeVar("V", bound=Versioned)


class VersionedHolder(Generic[V]):
    """One value this process built from the database, kept at the current version.

    `get()` never waits for the database or Redis once the value exists: it returns what it
    has and, at most every `interval` seconds, asks a background thread to compare versions.
    When the version moved, the thread builds a new value and swaps it in with one
    assignment; readers in flight finish with the old one.
    """

    def __init__(
        self,
        *,
        build: Callable[[], V],
        version: Callable[[], Hashable],
        interval: float = CHECK_INTERVAL,
        name: str = "versioned value",
    ) -> None:
        self._build = build
        self._version = version
        self._interval = interval
        self._name = name
        self._value: V | None = None
        self._checked_at = 0.0
        self._checking = False
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def get(self) -> V:
        value = self._value
        if value is None:
            # The first caller builds in its own thread (it must be allowed to query).
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                    self._checked_at = time.monotonic()
                return self._value
        if time.monotonic() - self._checked_at >= self._interval and not self._checking:
            with self._lock:
                if not self._checking:
                    self._checking = True
                    self._checked_at = time.monotonic()
                    self._executor.submit(self._check_in_background)
        return value

    def refresh(self) -> V:
        """Compare versions now and rebuild if the version moved; returns the current value."""
        current = self._value
        if current is None or self._version() != current.version:
            self._value = self._build()
        self._checked_at = time.monotonic()
        return self._value

    def _check_in_background(self) -> None:
        close_old_connections()
        try:
            self.refresh()
        except Exception:
            # The old value keeps serving; the next check tries again.
            logger.exception("could not rebuild the %s", self._name)
        finally:
            self._checking = False
            close_old_connections()
