"""Answers from staff notes: what the shop itself knows, cited as the shop's, never the manual's.

A note answers a question when it covers enough of the question's terms (the words that name
the product do not count). When the manual abstains, a note that covers half the question
answers it; beside an answer from the manual, only a note that covers most of the question is
added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from apps.manuals.answers.types import ANSWERED, Answer, shortened
from apps.manuals.retrieval import tokens

# Share of the question's terms a note must contain: alone, and beside a manual's answer.
INSTEAD_OF_ABSTAINING = 0.5
BESIDE_THE_MANUAL = 0.75
ENGINE = "staff_note"


@dataclass(frozen=True)
class NoteInfo:
    """An approved staff note, safe to pass between threads."""

    id: int
    text: str
    language: str
    page: int | None
    manual_id: int | None
    updated: str

    def citation(self) -> dict[str, Any]:
        return {
            "kind": "staff_note",
            "note_id": self.id,
            "snippet": shortened(self.text),
            "url": None,
            "manual_id": self.manual_id,
            "page": self.page,
        }


def coverage(note: NoteInfo, question: str, *, exclude: set[str]) -> float:
    asked = set(tokens(question)) - exclude
    if not asked:
        return 0.0
    return len(asked & set(tokens(note.text))) / len(asked)


def best(
    notes: list[NoteInfo], question: str, *, exclude: set[str], lang: str | None, floor: float
) -> NoteInfo | None:
    """The note that covers the most of the question, at least `floor` of it; notes in the
    question's language (or in none) come before notes in another."""
    scored = [
        (coverage(note, question, exclude=exclude), note.language in ("", lang or ""), note)
        for note in notes
    ]
    scored = [entry for entry in scored if entry[0] >= floor]
    if not scored:
        return None
    return max(scored, key=lambda entry: (entry[1], entry[0], entry[2].id))[2]


def answer(note: NoteInfo, *, lang: str | None) -> Answer:
    with translation.override(lang or translation.get_language()):
        intro = gettext("From our shop (not the manual): ")
    return Answer(
        state=ANSWERED, pieces=[intro, note.text], citations=[note.citation()], engine=ENGINE
    )


def beside(found: Answer, note: NoteInfo, *, lang: str | None) -> list[str]:
    """The pieces that add the note after the manual's answer (also added to `found`)."""
    with translation.override(lang or translation.get_language()):
        intro = gettext("\n\nOur shop adds: ")
    pieces = [intro, note.text]
    found.pieces.extend(pieces)
    found.citations.append(note.citation())
    return pieces


def cache_part(notes: list[NoteInfo]) -> str:
    """What the answer cache key must change with: the approved notes and their versions."""
    return ",".join(f"{note.id}.{note.updated}" for note in notes)
