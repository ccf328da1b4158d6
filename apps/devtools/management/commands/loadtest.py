"""`manage.py loadtest`: real customers, over real sockets, against a running deployment.

N clients each hold a chat session and its socket. Some of them type product questions at a
given speed, some ask a question from the demo manuals at a given rate and rate the answer,
the rest stay connected and idle. The run prints connections held, prediction and answer
latency percentiles, answers by state, errors by code and the server's memory.

With --compare-echo the same load runs first with the typists on the bare echo socket
(`/ws/echo/`, which the server serves when BENCH_ECHO=1): the floor of the stack under the same
load, in the same run. With --spawn N the command starts N web processes (behind one loopback
address when N > 1) and one Celery worker on DATABASE_URL and REDIS_URL itself. --idle N
measures how many idle connections one web process holds and its memory per connection.
--attackers 5,40 measures one customer typing normally, alone and then against 5 (then 40)
sockets that each send ~166 random words as `typing` 19 times a second (within every
per-socket limit), each attacker from its own loopback address. --sweep 50:300:50 raises the
typists step by step on the same clients, echo then chat at each step, and prints p50/p95/p99
per step, the frames latest-wins skipped, and each socket's knee (the typing rate where p95
passes 50 ms). --agents N adds live support
to the load (with --spawn 2 or more): N agents on the staff console of the last web process
answer 2N customers on the first, and the run prints how long an agent's reply takes to reach
the customer beside the load's own figures (agentload.py). Every run prints how long its
clients took to connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import multiprocessing
import random
import resource
import secrets
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.devtools import sweep
from apps.devtools.agentload import AgentLoad, agent_names
from apps.devtools.evaluation.answers import QA_SET
from apps.devtools.livesupport import make_agents
from apps.devtools.loadclient import (
    CONNECT_CONCURRENCY,
    ChatClient,
    Opened,
    Recorder,
    open_clients,
    percentile,
    run_attackers,
    server_counter,
    server_health,
)
from apps.devtools.management.commands.bench_prediction import typing_inputs
from apps.devtools.processes import OwnedProcess, celery_worker, load_run_env, web_server
from apps.devtools.tcpproxy import RoundRobinProxy
from apps.manuals.models import Manual
from apps.products.models import Product

TARGET_RATIO = 1.5
TARGET_FIRST_DELTA_MS = 300.0
COLD_WINDOW_SECONDS = 3.0
COLD_QUESTION = "How do I do a factory reset?"
TARGET_ATTACK_RATIO = 2.0
SKIPPED_COUNTER = "typing_frames_skipped_total"
# Typing that waited for the process's budget: a socket past its light share.
BUDGET_WAITS_COUNTER = "typing_budget_waits_total"
DRAIN_SECONDS = 2.0  # for the last replies after a phase
TARGET_AGENT_REPLY_MS = 100.0


class TimedRecorder(Recorder):
    """Also remembers when each latency was taken, to compare windows of one run."""

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, list[tuple[float, float]]] = {}

    def observe(self, name: str, millis: float) -> None:
        super().observe(name, millis)
        self.times.setdefault(name, []).append((time.monotonic(), millis))

    def between(self, name: str, start: float, end: float) -> list[float]:
        """Latencies of replies that arrived from `start` to `end`."""
        return [millis for at, millis in self.times.get(name, []) if start <= at < end]


@dataclass(frozen=True)
class Question:
    product_id: str
    text: str


def demo_questions() -> list[Question]:
    """The answerable questions of the QA set, about the demo products that have them."""
    data = json.loads(QA_SET.read_text(encoding="utf-8"))
    return [
        Question(product_id=Path(item["manual"]).stem, text=item["question"])
        for item in data["questions"]
        if item.get("expected_pages")
    ]


@dataclass
class Load:
    clients: int
    typists: int
    askers: int
    chars_per_second: float
    asks_per_minute: float
    duration: float


class Command(BaseCommand):
    help = "Drive real chat clients against a deployment and print latency, errors and memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", help="a running deployment, e.g. http://127.0.0.1:8000")
        parser.add_argument(
            "--spawn",
            type=int,
            default=0,
            metavar="N",
            help="start N web processes and one worker here instead of --url",
        )
        parser.add_argument("--clients", type=int, default=500)
        parser.add_argument("--typists", type=int, default=100)
        parser.add_argument("--askers", type=int, default=10)
        parser.add_argument("--chars-per-second", type=float, default=5.0)
        parser.add_argument("--asks-per-minute", type=float, default=1.0)
        parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
        parser.add_argument(
            "--compare-echo",
            action="store_true",
            help="first run the same load with typists on /ws/echo/",
        )
        parser.add_argument(
            "--cold-question",
            type=int,
            default=0,
            metavar="PAGES",
            help="instead: while --typists type, ask the first question on a freshly indexed "
            "manual of PAGES pages; compare prediction p99 before and after it",
        )
        parser.add_argument(
            "--idle",
            type=int,
            default=0,
            metavar="N",
            help="instead: hold up to N idle connections on one process",
        )
        parser.add_argument(
            "--attackers",
            default="",
            metavar="N,M",
            help="instead: one victim types at --chars-per-second for --duration s alone, "
            "then against N (then M) sockets each sending ~166 random words 19 times a "
            "second, each from its own loopback address; victim prediction p95 each way",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=1,
            help="with --attackers: repeat the phases this many times, alternating, and pool "
            "each condition's samples",
        )
        parser.add_argument(
            "--sweep",
            default="",
            metavar="STEPS",
            help="instead: typists per step (50:300:50 or 50,100,200) in the same --clients "
            "chat clients plus one echo socket per typist of the largest step; each step "
            "types --duration s on echo, then on the chat; p50/p95/p99 per step, frames "
            "skipped, each socket's knee (rate where p95 > 50 ms); stops once both are past "
            "it and the chat ran at 1.5x its knee",
        )
        parser.add_argument(
            "--connect-concurrency",
            type=int,
            default=CONNECT_CONCURRENCY,
            metavar="N",
            help="clients opening their session and socket at once",
        )
        parser.add_argument(
            "--agents",
            type=int,
            default=0,
            metavar="N",
            help="also N support agents on the last spawned process, each answering two "
            "customers (of the idle ones) on the first; agent reply delay percentiles",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._raise_file_limit()
        load = Load(
            clients=options["clients"],
            typists=options["typists"],
            askers=options["askers"],
            chars_per_second=options["chars_per_second"],
            asks_per_minute=options["asks_per_minute"],
            duration=options["duration"],
        )
        self.concurrency = max(1, options["connect_concurrency"])
        steps = self._steps(options["sweep"], load)
        agents = options["agents"]
        if not steps and load.typists + load.askers + 2 * agents > load.clients:
            raise CommandError(
                "--typists plus --askers (plus 2 per agent) must not exceed --clients"
            )
        if options["rounds"] < 1:
            raise CommandError("--rounds must be at least 1")
        if agents and options["spawn"] < 2:
            raise CommandError(
                "--agents needs --spawn 2 or more: agents on one process, customers on another"
            )
        with ExitStack() as stack:
            url, pids, sites = self._target(stack, options)
            if steps:
                asyncio.run(self.run_sweep(url, load, steps, self._questions(), pids))
                return
            if options["idle"]:
                asyncio.run(self.idle_capacity(url, options["idle"], pids))
                return
            if options["attackers"]:
                counts = self._attacker_counts(options["attackers"], url)
                asyncio.run(self.attack(url, load, counts, options["rounds"]))
                return
            if options["cold_question"]:
                product_id = self._fresh_manual(options["cold_question"])
                asyncio.run(self.cold_question(url, load, product_id))
                return
            questions = self._questions()
            support = self._support(sites, agents) if agents else None
            floor = None
            if options["compare_echo"]:
                floor = asyncio.run(self.run_phase(url, load, questions, echo=True, pids=pids))
            served = asyncio.run(
                self.run_phase(url, load, questions, echo=False, pids=pids, support=support)
            )
            self._verdict(floor, served)

    # --- the target ------------------------------------------------------------------------

    @staticmethod
    def _raise_file_limit() -> None:
        # Every client is a socket here and, when spawned, another on the server side.
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def _target(
        self, stack: ExitStack, options: dict[str, Any]
    ) -> tuple[str, list[int], list[str]]:
        """The URL the load goes to, the server pids (when spawned), each process's own URL."""
        if options["url"]:
            url = options["url"].rstrip("/")
            return url, [], [url]
        count = options["spawn"]
        if count < 1:
            raise CommandError("give --url of a running deployment, or --spawn N")
        if not settings.REDIS_URL or "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
            raise CommandError("--spawn needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadtest-")))
        env = self._server_env(workdir)
        worker: OwnedProcess = stack.enter_context(celery_worker(env, workdir=workdir))
        ports = [stack.enter_context(web_server(env, workdir=workdir)) for _ in range(count)]
        pids = [worker.popen.pid] if worker.popen else []
        pids += [proc.pid for proc in psutil.Process().children() if proc.pid not in pids]
        # For a profiler (py-spy) or top while the run goes on.
        self.stdout.write("server processes: " + ", ".join(self._server_memory(pids)))
        sites = [f"http://127.0.0.1:{port}" for port in ports]
        if count == 1:
            return sites[0], pids, sites
        proxy = RoundRobinProxy(ports)
        loop = asyncio.new_event_loop()
        port = loop.run_until_complete(proxy.start())
        # The proxy runs on its own loop in a thread, so each phase's asyncio.run is free.
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()

        def stop_proxy() -> None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

        stack.callback(stop_proxy)
        self.stdout.write(f"{count} web processes behind 127.0.0.1:{port} (round robin)")
        return f"http://127.0.0.1:{port}", pids, sites

    def _support(self, sites: list[str], agents: int) -> AgentLoad:
        """Agent users with a password of this run; agents on the last process, their
        customers on the first."""
        names, password = agent_names(agents), secrets.token_urlsafe(18)
        make_agents(names=names, password=password)
        return AgentLoad(
            agent_site=sites[-1], customer_site=sites[0], names=names, password=password
        )

    @staticmethod
    def _server_env(workdir: Path) -> dict[str, str]:
        """The spawned servers run as in production whatever this command runs with: DEBUG
        off (no query log), metrics in multiprocess files (the container's mode, and /metrics
        then sums every process), plain HTTP on loopback."""
        metrics = workdir / "metrics"
        metrics.mkdir()
        key = settings.SECRET_KEY
        if len(key) < 50 or key.startswith("insecure"):
            key = secrets.token_urlsafe(48)
        return load_run_env(
            DEBUG="0", SECURE="0", SECRET_KEY=key, PROMETHEUS_MULTIPROC_DIR=str(metrics)
        )

    def _questions(self) -> list[Question]:
        questions = demo_questions()
        ids = {question.product_id for question in questions}
        ready = set(
            Product.objects.filter(
                catalog_id__in=ids, document_links__manual__status=Manual.Status.READY
            ).values_list("catalog_id", flat=True)
        )
        usable = [question for question in questions if question.product_id in ready]
        if not usable:
            raise CommandError(
                "no demo manual is ready in this database: run `manage.py load_demo` first"
            )
        return usable

    # --- one phase -------------------------------------------------------------------------

    async def open(
        self, url: str, count: int, recorder: Recorder, *, echo: int = 0, name: str = ""
    ) -> Opened:
        """`echo` clients on the echo socket, then `count` chat clients; says how long it took."""
        opened = await open_clients(url, count, recorder, echo=echo, concurrency=self.concurrency)
        self.stdout.write((f"[{name}] " if name else "") + opened.line(recorder))
        return opened

    async def run_phase(
        self,
        url: str,
        load: Load,
        questions: list[Question],
        *,
        echo: bool,
        pids: list[int],
        support: AgentLoad | None = None,
    ) -> Recorder:
        recorder = Recorder()
        name = "echo floor" if echo else "chat"
        # The customers who talk to agents are idle ones of the load: the total stays.
        talking = support.customer_count if support else 0
        on_echo = load.typists if echo else 0
        opened = await self.open(
            url, load.clients - talking - on_echo, recorder, echo=on_echo, name=name
        )
        clients = opened.clients
        if support is not None:
            states = Counter(await support.open(recorder))
            self.stdout.write(
                f"[{name}] {len(support.agents)} agents on {support.agent_site} claimed "
                f"{talking} customers on {support.customer_site} (they were {dict(states)})"
            )
        typists = clients[: load.typists]
        askers = clients[load.typists : load.typists + load.askers]
        waits = None if echo else await self._process_waits(url)
        until = time.monotonic() + load.duration
        texts = typing_inputs()
        await asyncio.gather(
            *(self._type(client, texts, load, until, seed) for seed, client in enumerate(typists)),
            *(
                self._ask(client, questions, load, until, seed)
                for seed, client in enumerate(askers)
            ),
            *([support.work(until)] if support else []),
        )
        await asyncio.sleep(DRAIN_SECONDS)
        if waits is not None and (after := await self._process_waits(url)) is not None:
            # A customer typing normally stays within its light share and never waits here.
            self.stdout.write(f"[{name}] typing waits for the process budget: {after - waits:.0f}")
        if support is not None:
            support.measure()
        everyone = clients + (support.customers if support else [])
        held = sum(client.closed_code is None for client in everyone)
        for client in everyone:
            if client.closed_code is not None:
                recorder.errors[f"closed:{client.closed_code}"] += 1
        memory = self._server_memory(pids) or (await server_health(url)).get("memory", {})
        if support is not None:
            await support.close()
        for client in clients:
            await client.close()
        self._report(name, recorder, held, load, memory)
        return recorder

    @staticmethod
    async def _type(
        client: ChatClient, texts: list[str], load: Load, until: float, seed: int
    ) -> None:
        rng = random.Random(seed)
        await asyncio.sleep(rng.random())
        while time.monotonic() < until:
            await client.type_text(
                rng.choice(texts), chars_per_second=load.chars_per_second, until=until
            )
            await asyncio.sleep(rng.uniform(0.5, 2.0))  # reading, thinking

    @staticmethod
    async def _ask(
        client: ChatClient, questions: list[Question], load: Load, until: float, seed: int
    ) -> None:
        rng = random.Random(1000 + seed)
        interval = 60.0 / load.asks_per_minute
        await asyncio.sleep(rng.uniform(0, min(interval, load.duration / 2)))
        while time.monotonic() < until:
            question = rng.choice(questions)
            try:
                end = await client.ask(question.text, product_id=question.product_id)
            except (TimeoutError, ConnectionError) as error:
                client.recorder.errors[f"ask:{type(error).__name__}"] += 1
                return
            if end.get("type") == "answer_end" and end.get("message_id"):
                await client.send(
                    "feedback",
                    {"type": "feedback", "rating": 1, "message_id": end["message_id"]},
                    wait=True,
                )
            # Not past the end: the phase (a sweep's step) ends on time.
            pause = min(interval - rng.uniform(0, 1), until - time.monotonic())
            await asyncio.sleep(max(0.0, pause))

    # --- the typing rate, step by step -----------------------------------------------------

    @staticmethod
    def _steps(value: str, load: Load) -> list[int]:
        if not value:
            return []
        try:
            steps = sweep.parse_steps(value)
        except ValueError as error:
            raise CommandError(f"--sweep: {error}") from None
        if steps[-1] + load.askers > load.clients:
            raise CommandError("--sweep: the largest step plus --askers must not exceed --clients")
        return steps

    async def run_sweep(
        self, url: str, load: Load, steps: list[int], questions: list[Question], pids: list[int]
    ) -> None:
        """Each step: its typists on the echo socket, then as many on the chat, the same
        askers asking throughout, in clients opened once."""
        recorder = Recorder()
        opened = await self.open(url, load.clients, recorder, echo=steps[-1], name="sweep")
        if recorder.errors:
            self.stdout.write(f"[sweep] connect errors: {dict(recorder.errors)}")
        echo, chat = opened.echo, opened.chat
        askers = chat[len(chat) - load.askers :] if load.askers else []
        self.stdout.write(
            f"[sweep] steps of {', '.join(map(str, steps))} typists at "
            f"{load.chars_per_second:g} characters a second, {len(askers)} asking "
            f"{load.asks_per_minute:g} a minute, {load.duration:g} s per socket and step"
        )
        floor: list[sweep.Point] = []
        served: list[sweep.Point] = []
        web = [pid for pid in pids if self._is_web(pid)]
        try:
            for typists in steps:
                step = replace(load, typists=typists)
                for name, clients, points in (("echo", echo, floor), ("chat", chat, served)):
                    points.append(
                        await self._step(url, name, clients[:typists], askers, step, questions, web)
                    )
                if sweep.should_stop(floor, served):
                    self.stdout.write("[sweep] both past the knee, the chat at 1.5x its own")
                    break
            held = sum(client.closed_code is None for client in opened.clients)
            self.stdout.write(f"[sweep] connections held at the end: {held} of {opened.asked}")
        finally:
            for client in opened.clients:
                await client.close()
        for line in sweep.table(floor, served) + sweep.verdict(floor, served):
            self.stdout.write(line)

    async def _step(
        self,
        url: str,
        name: str,
        typists: list[ChatClient],
        askers: list[ChatClient],
        load: Load,
        questions: list[Question],
        web: list[int],
    ) -> sweep.Point:
        recorder = Recorder()
        for client in typists + askers:
            client.record_into(recorder)
        before = await server_counter(url, SKIPPED_COUNTER) if name == "chat" else None
        waits_before = await self._process_waits(url) if name == "chat" else None
        # Whether the load client or the web process ran out of CPU, for reading the figures.
        client_cpu, web_cpu, started = time.process_time(), self._cpu_seconds(web), time.monotonic()
        until = started + load.duration
        texts = typing_inputs()
        await asyncio.gather(
            *(self._type(client, texts, load, until, seed) for seed, client in enumerate(typists)),
            *(
                self._ask(client, questions, load, until, seed)
                for seed, client in enumerate(askers)
            ),
        )
        wall = time.monotonic() - started
        client_busy = (time.process_time() - client_cpu) / wall
        web_busy = (self._cpu_seconds(web) - web_cpu) / wall
        await asyncio.sleep(DRAIN_SECONDS)
        after = await server_counter(url, SKIPPED_COUNTER) if name == "chat" else None
        waits_after = await self._process_waits(url) if name == "chat" else None
        waits = (
            f", {waits_after - waits_before:.0f} process-budget waits"
            if waits_before is not None and waits_after is not None
            else ""
        )
        s = recorder.summary("prediction")
        counts = recorder.counts
        sent = counts["sent:typing"]
        point = sweep.Point(
            typists=len(typists),
            rate=sent / load.duration,
            count=s["count"],
            p50=s["p50"],
            p95=s["p95"],
            p99=s["p99"],
            errors=sum(recorder.errors.values()),
            unanswered=max(0, sent - counts["received:prediction"] - counts["received:error"]),
            skipped=after - before if before is not None and after is not None else None,
        )
        first = recorder.summary("first_delta")
        self.stdout.write(
            f"[{name} {point.typists}] {point.rate:.0f} typing msgs/s: n={point.count} "
            f"p50 {point.p50:.1f} ms, p95 {point.p95:.1f} ms, p99 {point.p99:.1f} ms, max "
            f"{s['max']:.1f} ms; skipped {'-' if point.skipped is None else f'{point.skipped:.0f}'}"
            f" (server){waits}, {point.unanswered} unanswered; answers {first['count']} "
            f"(first delta p95 {first['p95']:.0f} ms); CPU: load client {client_busy:.0%}"
            + (f", web {web_busy:.0%}" if web else "")
            + f"; errors {dict(recorder.errors) or 0}"
        )
        return point

    @staticmethod
    async def _process_waits(url: str) -> float | None:
        return await server_counter(url, BUDGET_WAITS_COUNTER, budget="process")

    # --- a cold question under typing ------------------------------------------------------

    def _fresh_manual(self, pages: int) -> str:
        """A ready manual of `pages` pages with a new version, indexed as the worker does."""
        from apps.devtools.management.commands.bench_answers import Command as BenchAnswers

        bench = BenchAnswers(stdout=self.stdout)
        product = bench.prepare_manual(pages=pages)
        bench.index_manual(product)
        return product.catalog_id

    async def cold_question(self, url: str, load: Load, product_id: str) -> None:
        """Prediction p99 of typists in the seconds before and after a cold first question."""
        recorder = TimedRecorder()
        clients = (await self.open(url, load.typists + 1, recorder, name="cold question")).clients
        asker, typists = clients[0], clients[1:]
        warmup, window = 3.0, COLD_WINDOW_SECONDS
        started = time.monotonic()
        until = started + warmup + 2 * window + 1.0
        texts = typing_inputs()
        typing = asyncio.gather(
            *(self._type(client, texts, load, until, seed) for seed, client in enumerate(typists))
        )
        await asyncio.sleep(warmup + window)
        asked_at = time.monotonic()
        end = await asker.ask(COLD_QUESTION, product_id=product_id, timeout=120)
        answered_at = time.monotonic()
        await typing
        await asyncio.sleep(1.0)
        before = recorder.between("prediction", asked_at - window, asked_at)
        after = recorder.between("prediction", asked_at, asked_at + window)
        for client in clients:
            await client.close()
        first = recorder.summary("first_delta")
        self.stdout.write(
            f"cold question: {end.get('state')} in {(answered_at - asked_at) * 1000:.0f} ms "
            f"(first delta {first['p50']:.0f} ms); {len(typists)} typists at "
            f"{load.chars_per_second:g} characters a second"
        )
        ratio = percentile(after, 99) / max(percentile(before, 99), 1e-9)
        self.stdout.write(
            f"cold question: prediction p99 {percentile(before, 99):.1f} ms in the "
            f"{window:g} s before (n={len(before)}), {percentile(after, 99):.1f} ms in the "
            f"{window:g} s after (n={len(after)}): x{ratio:.2f} (target <= 2); "
            f"errors {dict(recorder.errors) or 0}"
        )

    # --- expensive typing from other addresses -------------------------------------------

    @staticmethod
    def _attacker_counts(value: str, url: str) -> list[int]:
        try:
            counts = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise CommandError(f"--attackers takes counts like 5,40, not {value!r}") from None
        if not counts or not all(0 < count <= 250 for count in counts):
            raise CommandError("--attackers counts must be between 1 and 250")
        host = urlparse(url).hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            # Attackers bind to 127.0.0.2 and up: other customers' addresses on loopback only.
            raise CommandError("--attackers needs a server on loopback (--spawn or a 127.x --url)")
        return counts

    async def attack(self, url: str, load: Load, counts: list[int], rounds: int = 1) -> None:
        """Victim prediction latency alone and against each number of attackers.

        With several rounds the phases alternate (alone, N, M, alone, N, M, ...) and each
        condition's samples are pooled: the p95 of a few hundred samples, and drift of the
        machine over the run falls on every condition alike.
        """
        texts = typing_inputs()
        opening = Recorder()
        opened = await self.open(url, 1, opening, name="victim")
        if not opened.clients:
            raise CommandError(f"the victim could not connect: {dict(opening.errors)}")
        victim = opened.clients[0]
        pooled: dict[int, list[float]] = {0: [], **{count: [] for count in counts}}
        try:
            # Warm the server's caches for this victim's texts, unmeasured.
            await self._type(victim, texts, load, time.monotonic() + 3.0, 0)
            for number in range(1, rounds + 1):
                label = f" (round {number} of {rounds})" if rounds > 1 else ""
                victim.recorder = Recorder()
                await self._type(victim, texts, load, time.monotonic() + load.duration, 0)
                await asyncio.sleep(1.0)
                base = victim.recorder.summary("prediction")
                pooled[0] += victim.recorder.latencies.get("prediction", [])
                self.stdout.write(
                    f"[alone{label}] victim prediction: n={base['count']} p50 "
                    f"{base['p50']:.1f} ms, p95 {base['p95']:.1f} ms, max {base['max']:.1f} ms"
                )
                for count in counts:
                    victim.recorder = Recorder()
                    # Each phase floods with texts of its own (`run_attackers`).
                    run = f"{number}.{count}"
                    await self._attacked(url, victim, texts, load, count, label, run)
                    pooled[count] += victim.recorder.latencies.get("prediction", [])
        finally:
            await victim.close()
        alone = percentile(pooled[0], 95)
        if rounds > 1:
            for count, values in pooled.items():
                name = f"{count} attackers" if count else "alone"
                self.stdout.write(
                    f"[{name}, {rounds} rounds pooled] n={len(values)} p50 "
                    f"{percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
                    f"p99 {percentile(values, 99):.1f} ms"
                )
        verdicts = [
            f"{count} attackers x{percentile(pooled[count], 95) / max(alone, 1e-9):.2f}"
            for count in counts
        ]
        self.stdout.write(
            f"verdict: victim p95 alone {alone:.1f} ms; "
            + ", ".join(verdicts)
            + f" (target <= {TARGET_ATTACK_RATIO:g})"
        )

    async def _attacked(
        self,
        url: str,
        victim: ChatClient,
        texts: list[str],
        load: Load,
        count: int,
        label: str,
        run: str,
    ) -> None:
        """The victim types for --duration s while `count` attackers flood from a process
        of their own (other machines, in effect: their client work is not the victim's)."""
        name = f"{count} attackers{label}"
        context = multiprocessing.get_context("spawn")
        connected, stop = context.Event(), context.Event()
        results = context.SimpleQueue()
        process = context.Process(
            target=run_attackers,
            args=(url, count, connected, stop, results, run),
            daemon=True,
        )
        process.start()
        try:
            while not connected.is_set() and process.is_alive():
                await asyncio.sleep(0.1)
            await self._type(victim, texts, load, time.monotonic() + load.duration, count)
            stop.set()
            attack = await asyncio.to_thread(results.get)
        finally:
            stop.set()
            process.join(timeout=30)
        s = victim.recorder.summary("prediction")
        self.stdout.write(
            f"[{name}] victim prediction: n={s['count']} p50 {s['p50']:.1f} ms, "
            f"p95 {s['p95']:.1f} ms, max {s['max']:.1f} ms; errors "
            f"{dict(victim.recorder.errors) or 0}"
        )
        self.stdout.write(
            f"[{name}] {attack['connected']} connected in {attack['connect_seconds']:.1f} s, "
            f"{attack['held']} open at the end; "
            f"{attack['sent']} frames ({attack['sent'] / max(attack['seconds'], 1e-9):.0f}/s), "
            f"{attack['predicted']} predicted, {attack['predicted_after']} more in the 2 s "
            f"after they stopped; errors {attack['errors'] or 0}"
        )

    # --- idle capacity ---------------------------------------------------------------------

    async def idle_capacity(self, url: str, most: int, pids: list[int]) -> None:
        recorder = Recorder()
        web = [pid for pid in pids if self._is_web(pid)][:1]
        if not web:
            raise CommandError("--idle measures a process it started: use it with --spawn 1")
        before = sum(self._server_memory(web).values())
        clients: list[ChatClient] = []
        step = 500
        while len(clients) < most:
            batch = (await self.open(url, min(step, most - len(clients)), recorder)).clients
            clients += batch
            await asyncio.sleep(1.0)
            alive = sum(client.closed_code is None for client in clients)
            rss = sum(self._server_memory(web).values())
            self.stdout.write(f"idle: {alive} connections held, server RSS {rss:.0f} MB")
            if len(batch) < step or alive < len(clients):
                break
        alive = sum(client.closed_code is None for client in clients)
        after = sum(self._server_memory(web).values())
        per = (after - before) * 1024 / max(alive, 1)
        self.stdout.write(
            f"idle capacity: {alive} connections held by one web process "
            f"(asked for {most}); RSS {before:.0f} -> {after:.0f} MB, "
            f"{per:.1f} KB per connection; errors {dict(recorder.errors) or 0}"
        )
        for client in clients:
            await client.close()

    # --- figures ---------------------------------------------------------------------------

    @staticmethod
    def _is_web(pid: int) -> bool:
        try:
            return "daphne" in " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            return False

    @staticmethod
    def _cpu_seconds(pids: list[int]) -> float:
        total = 0.0
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    @staticmethod
    def _server_memory(pids: list[int]) -> dict[str, float]:
        """Resident memory in MB of each server process (with its children), by role and pid."""
        found: dict[str, float] = {}
        for pid in pids:
            try:
                process = psutil.Process(pid)
                rss = process.memory_info().rss
                rss += sum(child.memory_info().rss for child in process.children(recursive=True))
                role = "web" if "daphne" in " ".join(process.cmdline()) else "worker"
            except psutil.Error:
                continue
            found[f"{role}:{pid}"] = round(rss / 2**20, 1)
        return found

    def _report(
        self, name: str, recorder: Recorder, held: int, load: Load, memory: dict[str, Any]
    ) -> None:
        def line(label: str, key: str) -> str:
            s = recorder.summary(key)
            return (
                f"{label}: n={s['count']} p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms, "
                f"p99 {s['p99']:.1f} ms, max {s['max']:.1f} ms"
            )

        answers = Counter(
            {
                key.split(":", 1)[1]: value
                for key, value in recorder.counts.items()
                if key.startswith("answer:")
            }
        )
        self.stdout.write(f"[{name}] connections held at the end: {held} of {load.clients}")
        self.stdout.write(f"[{name}] " + line("prediction", "prediction"))
        self.stdout.write(f"[{name}] " + line("answer first delta", "first_delta"))
        self.stdout.write(f"[{name}] " + line("answer total", "answer_total"))
        self.stdout.write(f"[{name}] " + line("feedback", "feedback"))
        if recorder.latencies.get("agent_reply"):
            self.stdout.write(f"[{name}] " + line("agent reply, B to A", "agent_reply"))
        self.stdout.write(f"[{name}] answers by state: {dict(answers) or 0}")
        self.stdout.write(f"[{name}] errors by code: {dict(recorder.errors) or 0}")
        self.stdout.write(f"[{name}] server memory: {memory or 'unknown'}")

    def _verdict(self, floor: Recorder | None, served: Recorder) -> None:
        errors = sum(served.errors.values()) + (sum(floor.errors.values()) if floor else 0)
        first = served.summary("first_delta")["p95"]
        parts = [
            f"errors {errors} (target 0)",
            f"first delta p95 {first:.1f} ms (target < {TARGET_FIRST_DELTA_MS:.0f} ms)",
        ]
        if floor is not None:
            ratio = served.summary("prediction")["p95"] / max(
                floor.summary("prediction")["p95"], 1e-9
            )
            parts.append(f"prediction p95 x{ratio:.2f} of echo (target <= {TARGET_RATIO})")
        if "agent_reply" in served.latencies:
            reply = served.summary("agent_reply")
            parts.append(
                f"agent reply p95 {reply['p95']:.1f} ms, n={reply['count']} "
                f"(target < {TARGET_AGENT_REPLY_MS:.0f} ms) with prediction p95 "
                f"{served.summary('prediction')['p95']:.1f} ms in the same run"
            )
        self.stdout.write("verdict: " + ", ".join(parts))
