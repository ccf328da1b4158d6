"""Product cards for the typing path, from this process's memory alone.

A keystroke must not wait for the database or Redis. The prediction index carries every
active product's card as read under its catalog version; only the manual part (status and
pages) changes without a catalog edit, so it comes from `ManualStates`, which a background
thread re-reads whenever a status change anywhere moves its version.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def cards_for(index: PredictionIndex, pks: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The cards of these products that the index knows, with their documents' live status."""
    states = _states.get()
    found: dict[int, dict[str, Any]] = {}
    for pk in pks:
        card = index.cards.get(pk)
        if card is not None:
            found[pk] = card | states.card_documents(pk)
    return found
