"""Product cards in the two-layer cache, so a keystroke costs no query for a known product.

A card is keyed by product and by the catalog version it was read under, so an admin edit
(which bumps the version) retires it. The manual status inside a card changes without a
catalog edit, so a card whose manual is still on its way is kept only a few seconds;
`manual_status` pushes carry the live status in between. Cards live in `hscjit.cache`: this
process's L1 answers most keystrokes, and Redis (L2) shares the cards that any process, or
the hourly `regenerate_product_cache` job, has read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hscjit import cache

UNSETTLED_TTL = 3
PREFIX = "product_card"


def _key(version: int, pk: int) -> str:
    return f"{PREFIX}:{version}:{pk}"


class CardCache:
    def get_many(
        self, *, version: int, pks: Iterable[int]
    ) -> tuple[dict[int, dict[str, Any]], list[int]]:
        """The cached cards, and the keys that must be read."""
        found: dict[int, dict[str, Any]] = {}
        missing: list[int] = []
        for pk in pks:
            card = cache.get(_key(version, pk))
            if card is None:
                missing.append(pk)
            else:
                found[pk] = card
        return found, missing

    def put_many(self, *, version: int, cards: dict[int, dict[str, Any]]) -> None:
        for pk, card in cards.items():
            manual = card.get("manual")
            settled = manual is None or manual.get("status") == "ready"
            cache.set(_key(version, pk), card, timeout=None if settled else UNSETTLED_TTL)


cards = CardCache()
