from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

from apps.devtools.processes import RedisServer, scratch_dir
from apps.devtools.testing import sample, wait_until
from hscjit import cache

CLOSED_PORT_CACHES = {
    "default": {
        "BACKEND": "hscjit.cache_backends.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def redis_caches(url: str) -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "hscjit.cache_backends.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_a_value_set_is_read_back_from_l1_and_counted_as_an_l1_hit() -> None:
    hits = sample("cache_hits_total", layer="l1")
    cache.set("test:greeting", {"text": "hello"})
    assert cache.get("test:greeting") == {"text": "hello"}
    assert sample("cache_hits_total", layer="l1") == hits + 1


def test_a_missing_key_gives_the_default_and_counts_a_miss_in_both_layers() -> None:
    l1_misses = sample("cache_misses_total", layer="l1")
    l2_misses = sample("cache_misses_total", layer="l2")
    assert cache.get("test:nothing", "fallback") == "fallback"
    assert sample("cache_misses_total", layer="l1") == l1_misses + 1
    assert sample("cache_misses_total", layer="l2") == l2_misses + 1


@override_settings(CACHE_L1_SIZE=3)
def test_l1_keeps_only_its_size_and_l2_serves_what_l1_evicted() -> None:
    for number in range(5):
        cache.set(f"test:{number}", number)
    assert cache.stats()["l1_entries"] == 3
    l2_hits = sample("cache_hits_total", layer="l2")
    # The oldest entry left L1, but L2 still has it (and L1 takes it back).
    assert cache.get("test:0") == 0
    assert sample("cache_hits_total", layer="l2") == l2_hits + 1
    assert cache.stats()["l1_entries"] == 3


@override_settings(CACHE_L1_SIZE=2)
def test_l1_evicts_the_least_recently_used_entry() -> None:
    cache.set("test:a", "a")
    cache.set("test:b", "b")
    cache.get("test:a")  # a is now the most recent
    cache.set("test:c", "c")  # so b goes
    l2_hits = sample("cache_hits_total", layer="l2")
    assert cache.get("test:a") == "a"
    assert sample("cache_hits_total", layer="l2") == l2_hits
    assert cache.get("test:b") == "b"
    assert sample("cache_hits_total", layer="l2") == l2_hits + 1


def test_another_process_reads_what_this_one_stored_through_l2() -> None:
    cache.set("test:shared", [1, 2, 3])
    cache.reset_local_state()  # what a second process starts with: an empty L1
    l2_hits = sample("cache_hits_total", layer="l2")
    assert cache.get("test:shared") == [1, 2, 3]
    assert sample("cache_hits_total", layer="l2") == l2_hits + 1


def test_delete_forgets_a_key() -> None:
    cache.set("test:gone", 1)
    cache.delete("test:gone")
    assert cache.get("test:gone") is None


def test_a_key_without_a_prefix_is_refused() -> None:
    with pytest.raises(ValueError):
        cache.set("noprefix", 1)


def test_a_long_key_is_stored_and_read_back() -> None:
    key = "test:" + "x y" * 200
    cache.set(key, "long")
    cache.reset_local_state()
    assert cache.get(key) == "long"


def test_add_claims_a_key_once_for_every_process() -> None:
    assert cache.add("test:claim", 1, timeout=60) is True
    assert cache.add("test:claim", 2, timeout=60) is False
    cache.reset_local_state()  # another process asks
    assert cache.add("test:claim", 3, timeout=60) is False


@pytest.mark.django_db
def test_a_token_version_moves_for_every_process_once_committed(
    django_capture_on_commit_callbacks,
) -> None:
    version = cache.Version("test-token-version")
    assert version.current() is None
    with django_capture_on_commit_callbacks(execute=True):
        version.move()
        assert version.current() is None  # not before the commit
    first = version.current()
    assert first is not None
    cache.reset_local_state()  # another process
    assert version.current() == first
    with django_capture_on_commit_callbacks(execute=True):
        version.move()
    assert version.current() not in (None, first)


@pytest.mark.django_db
def test_a_durable_version_is_read_from_its_row_until_l2_has_it(
    django_capture_on_commit_callbacks,
) -> None:
    row = {"version": 7}
    version = cache.Version("test-durable-version", durable=lambda: row["version"])
    assert version.current() == 7
    with django_capture_on_commit_callbacks(execute=True):
        row["version"] = 8
        version.move(8)
    row["version"] = 99  # behind the cache's back: L2 answers
    assert version.current() == 8


@pytest.mark.django_db
@override_settings(CACHES=CLOSED_PORT_CACHES, CACHE_L2_RETRY_SECONDS=60)
def test_with_redis_unreachable_a_durable_version_comes_from_its_row(
    django_capture_on_commit_callbacks,
) -> None:
    version = cache.Version("test-durable-version", durable=lambda: 41)
    with django_capture_on_commit_callbacks(execute=True):
        version.move(41)
    assert version.current() == 41
    assert cache.Version("test-token-version").current() is None
    assert cache.add("test:claim", 1, timeout=60) is None


@pytest.mark.django_db
def test_a_holder_follows_its_version_in_the_background(
    django_capture_on_commit_callbacks,
) -> None:
    version = cache.Version("test-holder-version")

    @dataclass(frozen=True)
    class Built:
        version: object

    holder = cache.VersionedHolder(
        build=lambda: Built(version.current()), version=version.current, interval=0.0
    )
    before = holder.get()
    with django_capture_on_commit_callbacks(execute=True):
        version.move()
    deadline = time.monotonic() + 5
    while holder.get() is before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert holder.get().version == version.current() != before.version


@override_settings(CACHES=CLOSED_PORT_CACHES, CACHE_L2_RETRY_SECONDS=60)
def test_with_redis_unreachable_nothing_is_raised_and_l1_keeps_serving() -> None:
    l2_misses = sample("cache_misses_total", layer="l2")
    cache.set("test:survivor", "still here")
    assert cache.get("test:survivor") == "still here"
    assert cache.get("test:absent", "default") == "default"
    cache.delete("test:survivor")
    assert sample("cache_misses_total", layer="l2") == l2_misses + 1
    assert cache.stats()["l2_available"] is False


@pytest.mark.slow
def test_l2_comes_back_by_itself_after_redis_restarts() -> None:
    with scratch_dir("hscjit-cache-") as workdir:
        server = RedisServer(Path(workdir))
        server.start()
        try:
            with override_settings(CACHES=redis_caches(server.url), CACHE_L2_RETRY_SECONDS=0.2):
                cache.set("test:before", "stored")
                server.stop()
                assert cache.get("test:before") == "stored"  # from L1
                cache.set("test:during", "local only")
                assert cache.stats()["l2_available"] is False
                server.start()
                # L2 is tried again once CACHE_L2_RETRY_SECONDS have passed since the failure.
                wait_until(lambda: cache.stats()["l2_available"], what="the back-off ends")
                cache.set("test:after", "shared")
                cache.reset_local_state()
                assert cache.get("test:after") == "shared"  # read back through Redis
                assert cache.stats()["l2_available"] is True
        finally:
            server.stop()


def test_cache_stats_prints_hits_and_misses_per_layer() -> None:
    from io import StringIO

    from django.core.management import call_command

    cache.set("test:stats", 1)
    cache.get("test:stats")
    cache.get("test:stats-missing")
    out = StringIO()
    call_command("cache_stats", stdout=out)
    text = out.getvalue()
    assert "l1:" in text
    assert "l2:" in text
    assert "hit ratio" in text
    assert "L2 backend:" in text


def test_the_redis_cache_builds_its_client_once_per_pool() -> None:
    from hscjit.cache_backends import RedisCache

    backend = RedisCache("redis://127.0.0.1:1/0", {})
    first = backend._cache.get_client(write=True)
    assert backend._cache.get_client("any:key") is first
    assert first.connection_pool is backend._cache._get_connection_pool(True)
