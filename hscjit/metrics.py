"""The project's own Prometheus metrics; django-prometheus adds HTTP, database and cache.

Gauges use a multiprocess mode so that the numbers stay right when several web and worker
processes write to PROMETHEUS_MULTIPROC_DIR; `/metrics` (django-prometheus' view) then
aggregates the files of every process with prometheus_client's MultiProcessCollector.
Without that variable each process has its own registry and must be scraped by itself.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, multiprocess

_FAST = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

WEBSOCKET_ACTIVE_CONNECTIONS = Gauge(
    "websocket_active_connections",
    "Open chat WebSocket connections.",
    multiprocess_mode="livesum",
)
WEBSOCKET_ERRORS = Counter(
    "websocket_errors_total", "Protocol error messages sent to clients, by code.", ["code"]
)
PREDICTION_LATENCY = Histogram(
    "prediction_latency_seconds",
    "Time to predict the product for one typing message.",
    buckets=_FAST,
)
# Latest wins: a typing text still waiting when a newer one arrives is dropped unanswered
# (the socket is over its budget, or the loop is behind); past the knee this is the shedding.
TYPING_SKIPPED = Counter(
    "typing_frames_skipped_total",
    "Typing texts replaced by a newer one of the same socket before they were predicted.",
)
TYPING_BUDGET_WAITS = Counter(
    "typing_budget_waits_total",
    "Times a socket's typing waited for a prediction budget: its own (socket), its address's "
    "(address) or, past its light share, the process's (process).",
    ["budget"],
)
for _budget in ("socket", "address", "process"):
    TYPING_BUDGET_WAITS.labels(_budget)  # exported as 0 until the first wait
PRODUCTS_PREDICTED = Counter(
    "products_predicted_total", "Predictions that named a confident product."
)
ANSWER_FIRST_DELTA = Histogram(
    "answer_first_delta_seconds", "Time from ask to the first answer delta.", buckets=_SLOW
)
ANSWER_TOTAL = Histogram("answer_total_seconds", "Time from ask to answer_end.", buckets=_SLOW)
ANSWERS = Counter("answers_total", "Answers given, by state and engine.", ["state", "engine"])
MANUAL_FETCH = Histogram(
    "manual_fetch_seconds",
    "Time to fetch a manual, by kind and outcome.",
    ["kind", "outcome"],
    buckets=_SLOW,
)
MANUAL_EXTRACT = Histogram(
    "manual_extract_seconds",
    "Time to extract a manual's text, by kind and outcome.",
    ["kind", "outcome"],
    buckets=_SLOW,
)
DOCUMENTS_INDEXED = Counter("documents_indexed_total", "Manuals whose pages were indexed.")
BACKGROUND_TASKS_ACTIVE = Gauge(
    "background_tasks_active", "Background tasks running now.", multiprocess_mode="livesum"
)
CACHE_HITS = Counter("cache_hits_total", "Two-layer cache hits, by layer.", ["layer"])
CACHE_MISSES = Counter("cache_misses_total", "Two-layer cache misses, by layer.", ["layer"])


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def mark_this_process_dead(**kwargs: Any) -> None:
    """Drop this process's live gauges (open sockets, running tasks) from the shared files."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())


# The pid is read at exit, so a forked child (a Celery pool process) reports its own.
atexit.register(mark_this_process_dead)
