from __future__ import annotations

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


def test_invalidating_a_prefix_drops_its_keys_everywhere_and_keeps_other_prefixes() -> None:
    cache.set("cards:1", "card one")
    cache.set("answers:1", "answer one")
    cache.invalidate_prefix("cards")
    assert cache.get("cards:1") is None
    assert cache.get("answers:1") == "answer one"
    cache.reset_local_state()  # a process that had not seen the invalidation
    assert cache.get("cards:1") is None
    assert cache.get("answers:1") == "answer one"


def test_a_value_stored_after_invalidation_is_served() -> None:
    cache.set("cards:1", "old")
    cache.invalidate_prefix("cards:")
    cache.set("cards:1", "new")
    assert cache.get("cards:1") == "new"


def test_delete_forgets_a_key() -> None:
    cache.set("test:gone", 1)
    cache.delete("test:gone")
    assert cache.get("test:gone") is None


def test_a_key_without_a_prefix_is_refused() -> None:
    with pytest.raises(ValueError):
        cache.set("noprefix", 1)
    with pytest.raises(ValueError):
        cache.invalidate_prefix("a:b")


def test_a_long_key_is_stored_and_read_back() -> None:
    key = "test:" + "x y" * 200
    cache.set(key, "long")
    cache.reset_local_state()
    assert cache.get(key) == "long"


def test_cached_computes_once_per_arguments_and_again_after_invalidation() -> None:
    calls: list[tuple[int, str]] = []

    @cache.cached("square")
    def square(number: int, *, label: str = "") -> int | None:
        calls.append((number, label))
        return None if number < 0 else number * number

    assert square(3) == 9
    assert square(3) == 9
    assert square(4) == 16
    assert square(3, label="x") == 9
    assert square(-1) is None
    assert square(-1) is None  # a None result is cached too
    assert calls == [(3, ""), (4, ""), (3, "x"), (-1, "")]
    cache.invalidate_prefix("square")
    assert square(3) == 9
    assert len(calls) == 5


def test_cached_refuses_arguments_it_cannot_key() -> None:
    @cache.cached("opaque")
    def identity(value: object) -> object:
        return value

    with pytest.raises(TypeError):
        identity(object())


@override_settings(CACHES=CLOSED_PORT_CACHES, CACHE_L2_RETRY_SECONDS=60)
def test_with_redis_unreachable_nothing_is_raised_and_l1_keeps_serving() -> None:
    l2_misses = sample("cache_misses_total", layer="l2")
    cache.set("test:survivor", "still here")
    assert cache.get("test:survivor") == "still here"
    assert cache.get("test:absent", "default") == "default"
    cache.invalidate_prefix("test")
    cache.delete("test:survivor")
    assert sample("cache_misses_total", layer="l2") == l2_misses + 1
    assert cache.stats()["l2_available"] is False


@pytest.mark.slow
def test_l2_comes_back_by_itself_after_redis_restarts() -> None:
    with scratch_dir("hscjit-cache-") as workdir:
        server = RedisServer(Path(workdir))
        server.start()
        try:
            with override_settings(
                CACHES=redis_caches(server.url), CACHE_L2_RETRY_SECONDS=0.2, CACHE_VERSION_TTL=0
            ):
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
