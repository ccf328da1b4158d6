"""`manage.py bench_prediction`: how fast the product prediction is, in-process and end to end.

In-process: every prefix of every labelled input (what typing sends), against the index
of the catalog in this database (import ../shared/catalogs/halilit-2026 first).

End to end: N clients type at R characters a second for D seconds over real WebSockets
against one daphne process on the Redis channel layer, first against the bare echo
consumer (the floor of the stack on this machine), then against the chat consumer. The
server is started here (with BENCH_ECHO=1) unless --url points at a running one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.devtools.loadclient import ChatClient, Recorder, percentile
from apps.devtools.management.commands.eval_prediction import CASE_SETS, CASES
from apps.devtools.processes import load_run_env, web_server
from apps.products.prediction import refresh_index

TARGET_P99_MS = 2.0
TARGET_P95_RATIO = 1.3
TARGET_P99_RATIO = 1.5


def typing_inputs(path: Path = CASES) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [case["text"] for case in data["cases"]]


class Command(BaseCommand):
    help = "Measure prediction latency in-process and over WebSockets against the echo floor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, default=200)
        parser.add_argument("--rate", type=float, default=5.0, help="characters per second")
        parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
        parser.add_argument("--url", help="a running server (with BENCH_ECHO=1) to measure")
        parser.add_argument("--skip-e2e", action="store_true", help="in-process figures only")
        parser.add_argument("--min-products", type=int, default=3000)
        parser.add_argument(
            "--set",
            dest="case_set",
            choices=sorted(CASE_SETS),
            default="default",
            help="whose texts are typed in-process (hebrew: the Hebrew and mixed set)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # One line per HTTP request of the session set-up would bury the figures.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.in_process(min_products=options["min_products"], cases=CASE_SETS[options["case_set"]])
        if options["skip_e2e"]:
            return
        with ExitStack() as stack:
            url = options["url"] or self.start_server(stack)
            floor = asyncio.run(self.load(url, "/ws/echo/", options))
            chat = asyncio.run(self.load(url, None, options))
        self.compare(floor, chat)

    # --- in-process ------------------------------------------------------------------------

    def in_process(self, *, min_products: int, cases: Path = CASES) -> None:
        started = time.perf_counter()
        index = refresh_index()
        built = time.perf_counter() - started
        if len(index) < min_products:
            raise CommandError(
                f"the index holds {len(index)} products; import the full catalog first "
                "(manage.py import_catalog ../shared/catalogs/halilit-2026) "
                "or lower --min-products"
            )
        prefixes = [text[:end] for text in typing_inputs(cases) for end in range(1, len(text) + 1)]
        timings: list[float] = []
        for text in prefixes:
            began = time.perf_counter()
            index.predict(text)
            timings.append((time.perf_counter() - began) * 1000)
        p99 = percentile(timings, 99)
        self.stdout.write(
            f"in-process: {len(index)} products, index built in {built * 1000:.0f} ms (from DB)"
        )
        self.stdout.write(
            f"in-process predict over {len(timings)} keystroke prefixes: "
            f"p50 {percentile(timings, 50):.3f} ms, p95 {percentile(timings, 95):.3f} ms, "
            f"p99 {p99:.3f} ms, max {max(timings):.3f} ms "
            f"[{'ok' if p99 < TARGET_P99_MS else 'MISSED'}: p99 < {TARGET_P99_MS} ms]"
        )

    # --- end to end ------------------------------------------------------------------------

    def start_server(self, stack: ExitStack) -> str:
        if not settings.REDIS_URL or "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
            raise CommandError("the end-to-end run needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        port = stack.enter_context(web_server(load_run_env(), workdir=workdir))
        return f"http://127.0.0.1:{port}"

    async def load(self, url: str, ws_path: str | None, options: dict[str, Any]) -> Recorder:
        recorder = Recorder()
        clients = [ChatClient(url, recorder, ws_path=ws_path) for _ in range(options["clients"])]
        gate = asyncio.Semaphore(20)

        async def open_one(client: ChatClient) -> None:
            async with gate:
                if ws_path is None:
                    await client.open_session()
                await client.connect()

        opened = await asyncio.gather(
            *(open_one(client) for client in clients), return_exceptions=True
        )
        failures = sum(isinstance(result, BaseException) for result in opened)
        recorder.errors["connect"] += failures
        live = [c for c, r in zip(clients, opened, strict=True) if not isinstance(r, BaseException)]
        texts = typing_inputs()
        until = time.monotonic() + options["duration"]

        async def type_until(client: ChatClient, seed: int) -> None:
            rng = random.Random(seed)
            await asyncio.sleep(rng.random())
            while time.monotonic() < until:
                await client.type_text(
                    rng.choice(texts), chars_per_second=options["rate"], until=until
                )

        await asyncio.gather(*(type_until(client, seed) for seed, client in enumerate(live)))
        await asyncio.sleep(2.0)  # let the last replies arrive
        for client in live:
            if client.closed_code is not None:
                recorder.errors[f"closed:{client.closed_code}"] += 1
            await client.close()
        name = ws_path or "/ws/chat/<id>/"
        summary = recorder.summary("prediction")
        sent = recorder.counts["sent:typing"]
        self.stdout.write(
            f"{name}: {len(live)} clients, {sent} typing sent, {summary['count']} answered "
            f"({sent - summary['count']} skipped as stale), p50 {summary['p50']:.1f} ms, "
            f"p95 {summary['p95']:.1f} ms, p99 {summary['p99']:.1f} ms, "
            f"max {summary['max']:.1f} ms, errors {dict(recorder.errors) or 0}"
        )
        return recorder

    def compare(self, floor: Recorder, chat: Recorder) -> None:
        echo, served = floor.summary("prediction"), chat.summary("prediction")
        p95 = served["p95"] / max(echo["p95"], 1e-9)
        p99 = served["p99"] / max(echo["p99"], 1e-9)
        errors = sum(floor.errors.values()) + sum(chat.errors.values())
        self.stdout.write(
            f"prediction vs echo: p95 x{p95:.2f} (target <= {TARGET_P95_RATIO}), "
            f"p99 x{p99:.2f} (target <= {TARGET_P99_RATIO}), errors {errors} (target 0)"
        )
