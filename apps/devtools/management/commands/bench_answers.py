"""Time extractive answers on a ready ~900-page manual over a real WebSocket.

The manual is assembled from the demo manuals' pages (each copy numbered as its own volume)
and stored as ready pages under a bench product, then indexed (lexical and embeddings) the way
the worker does at ingest. Each run bumps its version, so neither the index nor any answer comes
from an earlier run's cache; one warm-up question loads the stored index in the server
(reported as the cold figure), then the measured questions follow one by one.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import F

from apps.devtools.evaluation.answers import QA_SET, demo_pages, use_cached_embeddings
from apps.devtools.loadclient import ChatClient, Recorder
from apps.devtools.processes import load_run_env, scratch_dir, web_server
from apps.manuals.models import Manual, ManualPage
from apps.manuals.retrieval.store import index_manual
from apps.manuals.selectors import first_document
from apps.manuals.services import attach_document
from apps.products.models import Brand, Product

BENCH_PRODUCT = "lumenvale-bench-manual"
PAUSE_SECONDS = 0.1
SOURCES = ("lumenvale-lx-88.pdf", "lumenvale-lp-4.pdf", "lumenvale-dr-10.pdf")


class Command(BaseCommand):
    help = "Print first-delta and total answer times (p50/p95) on a ready ~900-page manual."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pages", type=int, default=900)
        parser.add_argument("--rounds", type=int, default=2, help="Passes over the questions.")
        parser.add_argument("--url", default="", help="Use this running server, not a new one.")

    def handle(self, *args: Any, pages: int, rounds: int, url: str, **options: Any) -> None:
        if settings.LLM_BASE_URL:
            raise CommandError("unset LLM_BASE_URL: this measures the extractive engine")
        product = self.prepare_manual(pages=pages)
        self.index_manual(product)
        questions = self.questions()
        self.stdout.write(f"{pages} pages; {len(questions)} questions x {rounds}")
        if url:
            recorder, cold = asyncio.run(self.run(url, product.catalog_id, questions, rounds))
        else:
            with scratch_dir("bench-answers-") as workdir:
                env = load_run_env(SECURE="0")
                with web_server(env, workdir=workdir) as port:
                    base = f"http://127.0.0.1:{port}"
                    recorder, cold = asyncio.run(
                        self.run(base, product.catalog_id, questions, rounds)
                    )
        self.report(recorder, cold)

    def prepare_manual(self, *, pages: int) -> Product:
        texts = [text for name in SOURCES for _, text in demo_pages(name)]
        with transaction.atomic():
            brand, _ = Brand.objects.get_or_create(
                slug="lumenvale", defaults={"name": "Lumenvale Audio"}
            )
            product, _ = Product.objects.get_or_create(
                catalog_id=BENCH_PRODUCT,
                defaults={"name": "Lumenvale Bench Piano", "brand": brand},
            )
            manual = first_document(product=product)
            if manual is None:
                manual = Manual.objects.create(title=f"Lumenvale bench manual ({pages} pages)")
                attach_document(manual=manual, product=product)
            manual_id = manual.pk
            ManualPage.objects.filter(manual_id=manual_id).delete()
            ManualPage.objects.bulk_create(
                [
                    ManualPage(
                        manual_id=manual_id,
                        number=number,
                        text=f"Volume {(number - 1) // len(texts) + 1}\n"
                        + texts[(number - 1) % len(texts)],
                    )
                    for number in range(1, pages + 1)
                ],
                batch_size=500,
            )
            Manual.objects.filter(pk=manual_id).update(
                status=Manual.Status.READY, page_count=pages, progress=1.0, version=F("version") + 1
            )
        return product

    def index_manual(self, product: Product) -> None:
        """Store the lexical index and the embeddings as the worker does at ingest.

        The bench manual repeats 41 pages, so its ~3,000 passages (6,600 at 2,000 pages) are
        135 texts: the evaluation's vector cache embeds each once, with the model's own
        vectors. What ingest costs is bench_ingest's figure; this one measures answering.
        """
        manual = first_document(product=product)
        assert manual is not None
        use_cached_embeddings()
        started = time.monotonic()
        index_manual(manual_id=manual.pk)
        self.stdout.write(
            f"manual {manual.pk} v{manual.version}: indexed as the worker does (lexical and "
            f"embeddings, stored) in {time.monotonic() - started:.1f} s"
        )

    def questions(self) -> list[str]:
        items = json.loads(QA_SET.read_text(encoding="utf-8"))["questions"]
        return [item["question"] for item in items if item["manual"] == SOURCES[0]]

    async def run(
        self, base: str, product_id: str, questions: list[str], rounds: int
    ) -> tuple[Recorder, float]:
        warmup = Recorder()
        recorder = Recorder()
        client = ChatClient(base, warmup)
        await client.open_session()
        await client.connect()
        try:
            await client.ask("How do I update the firmware?", product_id=product_id, timeout=120)
            client.recorder = recorder
            for round_number in range(rounds):
                for question in questions:
                    # A different wording each round keeps the answer cache out of the figures.
                    text = question if round_number == 0 else f"{question} Thanks."
                    reply = await client.ask(text, product_id=product_id)
                    if reply.get("type") != "answer_end":
                        raise CommandError(f"{question!r}: got {reply}")
                    # Paced below the per-socket rate limit (CHAT_RATE_PER_SECOND).
                    await asyncio.sleep(PAUSE_SECONDS)
        finally:
            await client.close()
        return recorder, warmup.summary("answer_total")["max"]

    def report(self, recorder: Recorder, cold: float) -> None:
        first = recorder.summary("first_delta")
        total = recorder.summary("answer_total")
        states = {
            key.removeprefix("answer:"): count
            for key, count in recorder.counts.items()
            if key.startswith("answer:")
        }
        self.stdout.write(f"answers: {total['count']:.0f} {states}")
        self.stdout.write(f"cold first answer (loads the stored index): {cold:.0f} ms")
        self.stdout.write(f"first delta: p50 {first['p50']:.1f} ms, p95 {first['p95']:.1f} ms")
        self.stdout.write(f"total:       p50 {total['p50']:.1f} ms, p95 {total['p95']:.1f} ms")
