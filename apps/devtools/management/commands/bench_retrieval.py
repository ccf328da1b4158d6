"""`manage.py bench_retrieval [--pages 900] [--sample 128] [--manuals 50]`: index figures.

On a manual assembled from the demo manuals' pages (as bench_answers does), in this process:
the lexical index build (what the worker adds to ingest before a manual is ready), its stored
size and load time, passage embedding throughput on one core, the time to a composed answer
with the question embedded (what precedes the first delta), and the RSS of a process holding
`--manuals` ready 300-page indexes with their embeddings.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np
import psutil
from django.core.management.base import BaseCommand, CommandParser

from apps.devtools.evaluation.answers import QA_SET, demo_pages
from apps.manuals.answers import extractive
from apps.manuals.answers.types import ManualInfo
from apps.manuals.embeddings import get_embedder
from apps.manuals.retrieval.index import ManualIndex
from apps.manuals.retrieval.store import embed_question

SOURCES = ("lumenvale-lx-88.pdf", "lumenvale-lp-4.pdf", "lumenvale-dr-10.pdf")


def _pages(count: int) -> list[tuple[int, str]]:
    texts = [text for name in SOURCES for _, text in demo_pages(name)]
    return [
        (number, f"Volume {(number - 1) // len(texts) + 1}\n" + texts[(number - 1) % len(texts)])
        for number in range(1, count + 1)
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


class Command(BaseCommand):
    help = "Print index build/load times, embedding throughput, answer latency and memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pages", type=int, default=900)
        parser.add_argument("--sample", type=int, default=128, help="Passages embedded.")
        parser.add_argument("--manuals", type=int, default=50, help="300-page indexes held.")

    def handle(self, *args: Any, pages: int, sample: int, manuals: int, **options: Any) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import json

        started = time.perf_counter()
        index = ManualIndex(manual_id=1, version=1, pages=_pages(pages))
        build = time.perf_counter() - started
        data = index.to_bytes()
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            ManualIndex.from_bytes(data, manual_id=1, version=1)
            loads.append(time.perf_counter() - started)
        passages = len(index.passages)
        self.stdout.write(
            f"{pages} pages: {passages} passages; lexical build {build:.2f} s; stored "
            f"{len(data) / 1e6:.1f} MB + {passages * 384 * 2 / 1e6:.1f} MB embeddings; "
            f"load {_ms(statistics.median(loads))}"
        )
        embedder = get_embedder()
        texts = index.embedding_texts()[:sample]
        started = time.perf_counter()
        embedder.embed_passages(texts)
        rate = len(texts) / (time.perf_counter() - started)
        self.stdout.write(
            f"embedding ({embedder.name}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}): "
            f"{rate:.1f} passages/s; {pages} pages hybrid-ready after about "
            f"{build + passages / rate:.0f} s of one core"
        )
        # The real vectors of the sample, the rest random: ranking cost does not depend on them.
        rng = np.random.default_rng(0)
        matrix = rng.standard_normal((passages, 384)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        index.set_embeddings(matrix, model=embedder.name)
        info = ManualInfo(id=1, version=1, title="bench", kind="pdf", source_url="")
        questions = [item["question"] for item in json.loads(QA_SET.read_text())["questions"]]
        times = []
        for question in questions:
            started = time.perf_counter()
            vector = embed_question(question)
            extractive.compose(documents=[(info, index)], question=question, query_vector=vector)
            times.append(time.perf_counter() - started)
        times.sort()
        self.stdout.write(
            f"answer composed, question embedding included ({len(times)} questions): "
            f"p50 {_ms(times[len(times) // 2])}, p95 {_ms(times[int(len(times) * 0.95)])}"
        )
        process = psutil.Process()
        before = process.memory_info().rss
        small = ManualIndex(manual_id=2, version=1, pages=_pages(300))
        small_data = small.to_bytes()
        vectors = rng.standard_normal((len(small.passages), 384)).astype(np.float16)
        held = []
        for number in range(manuals):
            loaded = ManualIndex.from_bytes(bytes(small_data), manual_id=number, version=1)
            loaded.set_embeddings(vectors, model="bench")
            held.append(loaded)
        after = process.memory_info().rss
        self.stdout.write(
            f"{manuals} ready 300-page indexes ({len(small.passages)} passages each): "
            f"+{(after - before) / 1e6:.0f} MB, process RSS {after / 1e6:.0f} MB"
        )
