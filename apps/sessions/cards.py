"""Product cards for the typing path, from this process's memory alone.

A keystroke must not wait for the database or Redis. The prediction index carries every
active product's card as read under its catalog version; only the manual part (status and
pages) changes without a catalog edit, so it comes from `ManualStates`, which a background
thread re-reads whenever a status change anywhere moves its version.

A card is derived from those two values alone, so it is made once per pair of them, with its
JSON text: every keystroke's reply carries up to five cards, and encoding them again each time
cost more than the prediction itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.manuals.selectors import ManualStates, manual_states, manual_states_version
from apps.products.prediction import PredictionIndex
from hscjit.cache import VersionedHolder

_states: VersionedHolder[ManualStates] = VersionedHolder(
    build=manual_states, version=manual_states_version, name="manual states"
)


def warm() -> None:
    """Read the manual states now (sync code: a consumer's connect runs it on a thread)."""
    _states.get()


def refresh() -> None:
    """Re-read the manual states if their version moved (commands and tests)."""
    _states.refresh()


@dataclass
class _Made:
    """The cards made from one index and one reading of the manual states (read-only)."""

    index: PredictionIndex | None = None
    states: ManualStates | None = None
    cards: dict[int, dict[str, Any]] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)


_made = _Made()


def cards_for(index: PredictionIndex, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The cards of these products that the index knows, with their documents' live status.
    Callers must not change them: the same card is handed out until either source moves."""
    global _made
    states = _states.get()
    made = _made
    if made.index is not index or made.states is not states:
        made = _made = _Made(index, states)  # one assignment: readers in flight keep theirs
    found: dict[int, dict[str, Any]] = {}
    for pk in pks:
        card = made.cards.get(pk)
        if card is None:
            base = index.cards.get(pk)
            if base is None:
                continue
            card = made.cards[pk] = base | states.card_documents(pk)
        found[pk] = card
    return found


def card_texts(cards: Mapping[int, dict[str, Any]]) -> dict[int, str]:
    """The cards as JSON text (`protocol.prediction_text`), each encoded once."""
    made = _made
    texts: dict[int, str] = {}
    for pk, card in cards.items():
        if made.cards.get(pk) is not card:  # not one of the current cards: encoded here
            texts[pk] = json.dumps(card, ensure_ascii=False)
            continue
        text = made.texts.get(pk)
        if text is None:
            text = made.texts[pk] = json.dumps(card, ensure_ascii=False)
        texts[pk] = text
    return texts
