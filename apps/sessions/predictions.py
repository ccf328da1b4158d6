"""What a `typing` message is answered with: the prediction index's candidates and their cards.

It runs on the event loop, from this process's memory alone (the index and `cards`): a
keystroke waits for neither the database nor Redis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from apps.products.prediction import Candidate, get_index
from apps.sessions import cards
from hscjit.metrics import PREDICTION_LATENCY, PRODUCTS_PREDICTED


@dataclass(frozen=True, slots=True)
class Prediction:
    candidates: list[Candidate]
    cards: dict[int, dict[str, Any]]
    took_ms: float
    # CPU time of this thread, not the time the process waited for a core or another thread:
    # under load a socket's budget pays for what its prediction did.
    work_ms: float

    @property
    def focus(self) -> tuple[int, dict[str, Any]] | None:
        """The product the server acts on: the top candidate when it is confident."""
        top = self.candidates[0] if self.candidates else None
        if top is None or not top.confident or top.pk not in self.cards:
            return None
        return top.pk, self.cards[top.pk]


def warm() -> None:
    """Read the catalog and the manual states into memory (blocking: run it off the loop)."""
    get_index()
    cards.warm()


def predict(text: str, *, beside_focus: bool = False) -> Prediction:
    """`beside_focus`: the customer has a product in focus (PredictionIndex.predict)."""
    started = time.perf_counter()
    worked = time.thread_time()
    index = get_index()
    candidates = index.predict(text, beside_focus=beside_focus)
    found = cards.cards_for(index, [candidate.pk for candidate in candidates])
    elapsed = time.perf_counter() - started
    prediction = Prediction(
        candidates=candidates,
        cards=found,
        took_ms=round(elapsed * 1000, 2),
        work_ms=(time.thread_time() - worked) * 1000,
    )
    PREDICTION_LATENCY.observe(elapsed)
    if prediction.focus is not None:
        PRODUCTS_PREDICTED.inc()
    return prediction
