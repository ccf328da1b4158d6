"""Cards made once per catalog index and reading of the manual states, and the prediction
frame built from their encoded text."""

from __future__ import annotations

import json

from apps.manuals.selectors import DocumentState, ManualStates
from apps.products.prediction import Candidate
from apps.products.prediction.index import CatalogRecord, PredictionIndex
from apps.sessions import cards, protocol


def _states(status: str) -> ManualStates:
    state = DocumentState(
        status=status, pages=12, title="Manual", kind="owners_manual", language="en"
    )
    return ManualStates(version=status, by_id={7: state}, by_product={1: (7,)})


def _index() -> PredictionIndex:
    record = CatalogRecord(pk=1, product_id="plaits", name="Plaits", brand="Mutable Instruments")
    return PredictionIndex([record], cards={1: {"id": "plaits", "name": "Plaits"}})


def test_a_card_is_made_and_encoded_once_until_the_manual_states_move(monkeypatch) -> None:
    index = _index()
    states = _states("fetching")
    monkeypatch.setattr(cards._states, "get", lambda: states)
    first = cards.cards_for(index, [1, 2])
    assert list(first) == [1]  # 2 is not in the index
    assert first[1]["manual"] == {"id": 7, "status": "fetching", "pages": 12}
    again = cards.cards_for(index, [1])
    assert again[1] is first[1]
    text = cards.card_texts(again)[1]
    assert json.loads(text) == first[1]
    assert cards.card_texts(again)[1] is text  # encoded once
    # Another reading of the states (a document moved on): a new card, with the new status.
    monkeypatch.setattr(cards._states, "get", lambda: _states("ready"))
    moved = cards.cards_for(index, [1])
    assert moved[1]["manual"]["status"] == "ready"
    assert json.loads(cards.card_texts(moved)[1])["manual"]["status"] == "ready"
    # A card of an earlier reading is encoded as it is, never from the newer one's text.
    assert json.loads(cards.card_texts(first)[1])["manual"]["status"] == "fetching"


def test_the_prediction_frame_is_the_text_of_the_prediction_message() -> None:
    found = {
        1: {"id": "plaits", "name": "Plaits", "price": "990.00", "manual": None},
        2: {"id": "קטנה", "name": 'Katana "50"', "price": None, "documents": []},
    }
    candidates = [
        Candidate(product_id="plaits", pk=1, confidence=0.97, confident=True),
        Candidate(product_id="gone", pk=3, confidence=0.5, confident=False),  # no card
        Candidate(product_id="קטנה", pk=2, confidence=0.412, confident=False),
    ]
    for ref in ("17", None):
        message = protocol.prediction(
            ref=ref, text='פלייטס "x"', candidates=candidates, cards=found, took_ms=0.25
        )
        frame = protocol.prediction_text(
            ref=ref,
            text='פלייטס "x"',
            candidates=candidates,
            cards={pk: json.dumps(card, ensure_ascii=False) for pk, card in found.items()},
            took_ms=0.25,
        )
        assert frame == json.dumps(message, ensure_ascii=False)
    empty = protocol.prediction(ref=None, text="hello", candidates=[], cards={}, took_ms=0.0)
    assert protocol.prediction_text(
        ref=None, text="hello", candidates=[], cards={}, took_ms=0.0
    ) == json.dumps(empty, ensure_ascii=False)
