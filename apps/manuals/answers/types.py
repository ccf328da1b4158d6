"""What the engines take and give: a manual described without the ORM, and an answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ANSWERED = "answered"
NOT_IN_MANUAL = "not_in_manual"
SNIPPET_CHARS = 240

# "[p. 4]", "[pp. 4-5]" in English; "[עמ' 4]", "[עמ' 4-5]" in Hebrew.
_MARKER = re.compile(r"\[(?:pp?\.|עמ['׳])\s*([0-9][0-9,\s-]*)\]")  # noqa: RUF001 - geresh


@dataclass(frozen=True)
class ManualInfo:
    """What an answer needs to know about its manual, safe to pass between threads."""

    id: int
    version: int
    title: str
    kind: str
    source_url: str
    # What the document is (owner's manual, MIDI implementation...) and its language, when
    # the catalog knows; both optional.
    document_kind: str = ""
    language: str = ""

    def citation_url(self, page: int) -> str:
        if self.kind == "html":
            # An HTML manual has no pages to jump to: the source page, else our stored copy.
            return self.source_url or f"/manuals/{self.id}/document"
        return f"/manuals/{self.id}/document#page={page}"

    def citation(self, *, page: int, snippet: str) -> dict[str, Any]:
        return {
            "manual_id": self.id,
            "page": page,
            "snippet": shortened(snippet),
            "url": self.citation_url(page),
            "document": self.title,
        }


def shortened(text: str) -> str:
    """`text` as a citation quotes it: at most SNIPPET_CHARS, cut at a word's end ("will be
    r…" reads as a typo), the mark apart from a sentence's end ("display. …")."""
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text[: SNIPPET_CHARS - 2]
    kept = (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip()
    return kept + (" …" if kept.endswith((".", "!", "?", ":", ";")) else "…")


@dataclass
class Answer:
    state: str
    pieces: list[str]
    citations: list[dict[str, Any]] = field(default_factory=list)
    engine: str = "extractive"

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def marker(pages: tuple[int, ...], lang: str | None = None) -> str:
    """The citation label of pages, in the answer's language."""
    from apps.manuals.answers.framing import phrase

    if len(pages) == 1:
        return f"[{phrase('page', lang, pages=pages[0])}]"
    return f"[{phrase('pages', lang, pages=f'{pages[0]}-{pages[-1]}')}]"


def marker_pages(text: str) -> list[tuple[re.Match[str], list[int]]]:
    """The citation markers in a text and the pages each names ("[pp. 4-5]" names 4 and 5)."""
    found: list[tuple[re.Match[str], list[int]]] = []
    for match in _MARKER.finditer(text):
        pages: list[int] = []
        for part in match.group(1).split(","):
            bounds = [int(value) for value in part.split("-") if value.strip().isdigit()]
            if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= 20:
                pages.extend(range(bounds[0], bounds[1] + 1))
            else:
                pages.extend(bounds)
        found.append((match, pages))
    return found
