"""Chats for measuring the content-gaps dashboard: questions, answers, feedback, handoffs.

The rows are plausible (questions about the catalog's products, states in realistic shares,
answers citing the products' documents, waits of a few minutes) and marked: their sessions'
owner key starts with `dashboard-data-`, and `--clear` removes them again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apps.manuals.models import DocumentLink
from apps.products.models import Product
from apps.sessions.models import ChatSession, Feedback, Handoff, Message

MARK = "dashboard-data-"
BATCH = 2000
TOPICS = [
    "how do I reset {p} to factory settings",
    "what is the warranty for {p} in Israel",
    "where is the nearest service centre for {p}",
    "how do I connect {p} to my computer over USB",
    "can I use {p} with batteries",
    "is there a Hebrew manual for {p}",
    "what are your store hours",
    "how do I update the firmware of {p}",
    "my {p} makes no sound",
    "how do I save a preset on {p}",
]
# Shares of the answers' states: most questions are answered from the manual.
STATES = [
    (Message.State.ANSWERED, 0.70),
    (Message.State.NOT_IN_MANUAL, 0.15),
    (Message.State.NO_MANUAL, 0.07),
    (Message.State.NO_PRODUCT, 0.05),
    (Message.State.HANDED_OFF, 0.03),
]


@contextmanager
def _own_timestamps(*models: Any) -> Iterator[None]:
    """Let bulk_create keep the created_at the rows were given (auto_now_add replaces it)."""
    changed = []
    for model in models:
        for field in model._meta.concrete_fields:
            if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                changed.append((field, field.auto_now_add, field.auto_now))
                field.auto_now_add = field.auto_now = False
    try:
        yield
    finally:
        for field, add, now in changed:
            field.auto_now_add, field.auto_now = add, now


class Command(BaseCommand):
    help = "Create chats with MESSAGES messages over DAYS days for the dashboard benchmark."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--messages", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--clear", action="store_true", help="Only remove earlier data.")

    def handle(
        self, *args: Any, messages: int, days: int, seed: int, clear: bool, **_: Any
    ) -> None:
        removed = ChatSession.objects.filter(owner_key__startswith=MARK).delete()[0]
        if removed:
            self.stdout.write(f"removed {removed} rows of earlier dashboard data")
        if clear:
            return
        if messages < 2 or days < 1:
            raise CommandError("--messages must be at least 2 and --days at least 1")
        products = list(Product.objects.filter(is_active=True).values_list("pk", "name"))
        if not products:
            raise CommandError("no active product: import a catalog first (load_demo)")
        started = time.perf_counter()
        made = self.make(random.Random(seed), products, pairs=messages // 2, days=days)
        self.stdout.write(
            f"created {made['sessions']} chats, {made['messages']} messages, "
            f"{made['feedback']} ratings, {made['handoffs']} handoffs "
            f"in {time.perf_counter() - started:.1f} s"
        )

    def make(
        self, rng: random.Random, products: list[tuple[int, str]], *, pairs: int, days: int
    ) -> dict[str, int]:
        documents: dict[int, list[int]] = {}
        for manual_id, product_id in DocumentLink.objects.filter(product__isnull=False).values_list(
            "manual_id", "product_id"
        ):
            documents.setdefault(product_id, []).append(manual_id)
        now = timezone.now()
        counts = {"sessions": 0, "messages": 0, "feedback": 0, "handoffs": 0}
        states, weights = zip(*STATES, strict=True)
        remaining = pairs
        with _own_timestamps(ChatSession, Message, Feedback, Handoff):
            while remaining > 0:
                size = min(BATCH, remaining)
                remaining -= size
                with transaction.atomic():
                    self._batch(rng, products, documents, now, days, size, states, weights, counts)
        return counts

    def _batch(
        self,
        rng: random.Random,
        products: list[tuple[int, str]],
        documents: dict[int, list[int]],
        now: Any,
        days: int,
        size: int,
        states: tuple[str, ...],
        weights: tuple[float, ...],
        counts: dict[str, int],
    ) -> None:
        # About three questions a chat.
        chats = []
        for _ in range(max(1, size // 3)):
            at = now - timedelta(seconds=rng.uniform(0, days * 86400))
            chats.append(
                ChatSession(
                    owner_key=f"{MARK}{rng.getrandbits(64):x}", created_at=at, last_activity_at=at
                )
            )
        ChatSession.objects.bulk_create(chats)
        questions, plans = [], []
        for _ in range(size):
            chat = rng.choice(chats)
            pk, name = rng.choice(products)
            at = chat.created_at + timedelta(seconds=rng.uniform(0, 900))
            text = rng.choice(TOPICS).format(p=name)
            state = rng.choices(states, weights)[0]
            questions.append(
                Message(
                    session=chat,
                    role=Message.Role.QUESTION,
                    text=text,
                    product_id=pk,
                    created_at=at,
                )
            )
            plans.append((chat, pk, at, state))
        Message.objects.bulk_create(questions)
        answers = []
        for question, (chat, pk, at, state) in zip(questions, plans, strict=True):
            manuals = documents.get(pk, [])
            citations = (
                [
                    {
                        "manual_id": rng.choice(manuals),
                        "page": rng.randint(1, 60),
                        "snippet": "…",
                        "url": "",
                    }
                ]
                if state == Message.State.ANSWERED and manuals
                else []
            )
            answers.append(
                Message(
                    session=chat,
                    role=Message.Role.ANSWER,
                    question=question,
                    text="(generated)",
                    product_id=pk,
                    state=state,
                    citations=citations,
                    engine="extractive",
                    created_at=at + timedelta(seconds=1),
                )
            )
        Message.objects.bulk_create(answers)
        ratings = [
            Feedback(
                message=answer,
                rating=-1 if answer.state != Message.State.ANSWERED or rng.random() < 0.2 else 1,
                created_at=answer.created_at,
                updated_at=answer.created_at,
            )
            for answer in answers
            if rng.random() < 0.06
        ]
        Feedback.objects.bulk_create(ratings)
        handoffs = []
        for chat in chats:
            if rng.random() >= 0.04:
                continue
            requested = chat.created_at + timedelta(seconds=60)
            live = rng.random() < 0.7
            claimed = requested + timedelta(seconds=rng.uniform(20, 600)) if live else None
            handoffs.append(
                Handoff(
                    session=chat,
                    status=Handoff.Status.RESOLVED,
                    live=live,
                    reason=rng.choice(Handoff.Reason.values),
                    requested_at=requested,
                    claimed_at=claimed,
                    closed_at=(claimed or requested) + timedelta(minutes=5),
                )
            )
        Handoff.objects.bulk_create(handoffs)
        counts["sessions"] += len(chats)
        counts["messages"] += len(questions) + len(answers)
        counts["feedback"] += len(ratings)
        counts["handoffs"] += len(handoffs)
