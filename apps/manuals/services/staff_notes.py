"""The answer service's staff-notes step: the shop's own information beside the manual.

`answer_question` loads a product's approved notes once (`for_question`) and asks them twice:
`instead()` when the manual abstains or there is none, `beside(answer)` after a manual's
answer. The cache key changes with the notes (`cache_part`), so approving or editing a note
is answered at once. `save_note` is how an agent's reply becomes a note (pending review).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from apps.manuals.answers import notes
from apps.manuals.answers.types import Answer
from apps.manuals.models import Manual, StaffNote
from apps.manuals.retrieval import tokens
from apps.manuals.selectors import staff_notes_for
from apps.products.models import Product
from hscjit.pools import on_pool

MAX_NOTE = 4000


@dataclass(frozen=True)
class ShopNotes:
    found: list[notes.NoteInfo]
    question: str
    lang: str | None
    exclude: frozenset[str]

    def instead(self) -> Answer | None:
        """An answer from the best-matching note, for a question the manual does not answer."""
        note = notes.best(
            self.found,
            self.question,
            exclude=set(self.exclude),
            lang=self.lang,
            floor=notes.INSTEAD_OF_ABSTAINING,
        )
        return notes.answer(note, lang=self.lang) if note is not None else None

    def beside(self, answer: Answer) -> list[str]:
        """Pieces that add a closely matching note to the manual's answer (added to it too)."""
        if answer.engine == notes.ENGINE:
            return []
        note = notes.best(
            self.found,
            self.question,
            exclude=set(self.exclude),
            lang=self.lang,
            floor=notes.BESIDE_THE_MANUAL,
        )
        return notes.beside(answer, note, lang=self.lang) if note is not None else []

    def cache_part(self) -> str:
        if not self.found:
            return ""
        return ":n" + hashlib.sha256(notes.cache_part(self.found).encode()).hexdigest()[:12]


async def for_question(*, product: Product, text: str, lang: str | None) -> ShopNotes:
    found = await on_pool(staff_notes_for)(product=product)
    exclude = frozenset(tokens(f"{product.name} {product.brand.name} {product.catalog_id}"))
    return ShopNotes(found=found, question=text, lang=lang, exclude=exclude)


def save_note(
    *,
    author: Any,
    product: Product,
    text: str,
    on_family: bool,
    language: str = "",
    manual_id: int | None = None,
    page: int | None = None,
    source_message_id: int | None = None,
) -> StaffNote:
    """An agent's reply kept as a note, waiting for review; answers quote it once approved."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise ValueError(f"A note needs 1 to {MAX_NOTE} characters of text.")
    if on_family and product.family_id is None:
        raise ValueError("This product belongs to no family; save the note on the product.")
    if page is not None and (manual_id is None or page < 1):
        raise ValueError("A page reference needs the manual and a page number from 1.")
    if manual_id is not None and not Manual.objects.filter(pk=manual_id).exists():
        raise ValueError("There is no such manual.")
    return StaffNote.objects.create(
        product=None if on_family else product,
        family_id=product.family_id if on_family else None,
        text=text,
        language=language[:8],
        manual_id=manual_id,
        page=page,
        created_by=author,
        source_message_id=source_message_id,
    )
