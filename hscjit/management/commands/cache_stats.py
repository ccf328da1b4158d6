"""Hit and miss counts of the two-layer cache per layer, and the state of L2."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import httpx
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import REGISTRY, CollectorRegistry, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import RedisError

from hscjit import cache
from hscjit.metrics import multiprocess_dir

COUNTERS = {"cache_hits": "hits", "cache_misses": "misses"}


def layer_counts(metrics: Iterable[Metric]) -> dict[str, dict[str, float]]:
    """{layer: {"hits": n, "misses": n}} from the cache_hits/cache_misses counters."""
    counts: dict[str, dict[str, float]] = defaultdict(lambda: {"hits": 0.0, "misses": 0.0})
    for metric in metrics:
        kind = COUNTERS.get(metric.name)
        if kind is None:
            continue
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                counts[sample.labels.get("layer", "?")][kind] += sample.value
    return dict(sorted(counts.items()))


class Command(BaseCommand):
    help = "Show two-layer cache hits and misses per layer, and whether L2 (Redis) answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            help="Read the counts from a running process's /metrics, e.g. "
            "http://127.0.0.1:8000/metrics (loopback or cluster-internal).",
        )

    def collect(self, url: str | None) -> tuple[str, list[Metric]]:
        if url:
            try:
                response = httpx.get(url, timeout=5.0)
                response.raise_for_status()
            except httpx.HTTPError as error:
                raise CommandError(f"cannot read {url}: {error}") from error
            return url, list(text_string_to_metric_families(response.text))
        directory = multiprocess_dir()
        if directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)
            return f"every process writing to {directory}", list(registry.collect())
        return "this command's process only (pass --url to read a server)", list(REGISTRY.collect())

    def l2_state(self) -> dict[str, Any]:
        backend = caches["default"]
        state: dict[str, Any] = {"backend": type(backend).__name__}
        if not isinstance(backend, RedisCache):
            return state
        try:
            client = backend._cache.get_client(write=False)
            info = client.info()
        except (RedisError, OSError) as error:
            state["error"] = str(error)
            return state
        state.update(
            keys=client.dbsize(),
            used_memory=info.get("used_memory_human"),
            server_keyspace_hits=info.get("keyspace_hits"),
            server_keyspace_misses=info.get("keyspace_misses"),
        )
        return state

    def handle(self, *args: Any, url: str | None, **options: Any) -> None:
        source, metrics = self.collect(url)
        self.stdout.write(f"counts from {source}")
        for layer, counts in layer_counts(metrics).items() or [("-", {"hits": 0, "misses": 0})]:
            total = counts["hits"] + counts["misses"]
            ratio = f"{counts['hits'] / total:.1%}" if total else "n/a"
            self.stdout.write(
                f"  {layer}: {counts['hits']:.0f} hits, {counts['misses']:.0f} misses, "
                f"hit ratio {ratio}"
            )
        local = cache.stats()
        self.stdout.write(f"L1 capacity per process: {local['l1_size']} entries")
        for key, value in self.l2_state().items():
            self.stdout.write(f"L2 {key}: {value}")
