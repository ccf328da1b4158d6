"""Filters for the chat page: everything here escapes what it is given.

Answer text, product names and manual snippets come from customers, the catalog and manuals,
so the only markup these filters produce is their own, built with `format_html`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from apps.manuals.answers.types import shortened
from apps.manuals.retrieval.text import detect_language
from apps.sessions import texts

register = template.Library()

# `[p. 12]`, and `[pp. 12-13]` for a passage that runs over a page boundary; `[עמ' 12]` and
# `[עמ' 12-13]` in a Hebrew answer (apps/manuals/answers/framing.py).
CITATION_MARKER = re.compile(r"\[(?:pp?\.|עמ['׳])\s*(\d+)(?:\s*[-\u2013]\s*\d+)?\]")  # noqa: RUF001
# A web address in an answer (the product page of a "no manual" answer, a vendor's site quoted
# from a manual) is a link too; the punctuation that closes its sentence is not part of it.
WEB_ADDRESS = r"https?://[^\s<>\"'()\[\]]+?(?=[.,;:!?]*(?:[\s<>\"'()\[\]]|$))"
LINKABLE = re.compile(f"{CITATION_MARKER.pattern}|(?P<web>{WEB_ADDRESS})", re.IGNORECASE)


MANUAL_BUSY = {"queued", "fetching", "extracting"}


def safe_url(value: object) -> str:
    """The URL if a browser may follow it from our page (same-site path or http/https)."""
    url = str(value or "").strip()
    if url.startswith("/") and not url.startswith("//"):
        return url
    if url.lower().startswith(("https://", "http://")):
        return url
    return ""


@register.filter
def is_safe_url(value: object) -> bool:
    return bool(safe_url(value))


@register.filter
def safe_url_or_empty(value: object) -> str:
    return safe_url(value)


@register.filter
def text_dir(text: object) -> str:
    """ "rtl" for a text in Hebrew (`detect_language`), even one that opens with a Latin
    model name ("n32b איך שולחים snapshot"), which dir="auto" lays out left to right."""
    return "rtl" if detect_language(str(text or "")) == "he" else "auto"


@register.filter
def lines(text: object) -> list[str]:
    """A message's lines, for a page that gives each its own direction: a Hebrew answer's
    framing reads right to left, the English manual text it quotes left to right."""
    return str(text or "").splitlines()


@register.filter
def card_price(card: object) -> str:
    """A product card's price with its currency, or nothing when the price is unknown."""
    if not isinstance(card, Mapping) or card.get("price") in (None, ""):
        return ""
    try:
        amount = Decimal(str(card["price"]))
    except (InvalidOperation, ValueError):
        return ""
    return texts.money(amount, str(card.get("currency") or ""))


@register.filter
def state_label(state: object, engine: object = "") -> str:
    """The label above an answer in `state`, from `engine` (chat.js `stateLabel` is the same)."""
    if state == "not_in_manual" and engine == "catalog":
        return gettext(texts.FOR_STAFF_LABEL)
    label = texts.STATE_LABELS.get(str(state or ""))
    return gettext(label) if label else ""


@register.filter
def manual_busy(manual: object) -> bool:
    return isinstance(manual, Mapping) and manual.get("status") in MANUAL_BUSY


DOCUMENT_KINDS = {
    "owners_manual": "Owner's manual",
    "reference": "Reference manual",
    "parameter_guide": "Parameter guide",
    "midi_implementation": "MIDI implementation",
    "quick_start": "Quick start",
}


@register.filter
def document_title(document: object) -> str:
    """A document's title, else its kind, as chat.js words it."""
    if not isinstance(document, Mapping):
        return ""
    if document.get("title"):
        return str(document["title"])
    return gettext(DOCUMENT_KINDS.get(str(document.get("kind")), "Document"))


@register.filter
def card_manual_label(product: object) -> str:
    """The card's headline: how many documents are ready when the product has several and all
    are (the list under it names them), else its first document's status."""
    if not isinstance(product, Mapping):
        return manual_label(None)
    documents = product.get("documents") or []
    if len(documents) > 1 and all(document.get("status") == "ready" for document in documents):
        return gettext(texts.DOCUMENTS_READY).format(count=len(documents))
    return manual_label(product.get("manual"))


@register.filter
def manual_label(manual: object) -> str:
    """The manual's status as the card states it; chat.js words it the same way."""
    if not isinstance(manual, Mapping):
        return gettext(texts.MANUAL_NONE)
    status = manual.get("status")
    pages = manual.get("pages")
    percent = round(float(manual.get("progress") or 0) * 100)
    if status == "ready":
        if pages:
            return gettext(texts.MANUAL_READY_PAGES).format(pages=pages)
        return gettext(texts.MANUAL_READY)
    if status == "queued":
        return gettext(texts.MANUAL_QUEUED)
    if status == "fetching":
        return gettext(texts.MANUAL_FETCHING).format(percent=percent)
    if status == "extracting":
        return gettext(texts.MANUAL_EXTRACTING).format(percent=percent)
    if status == "failed":
        return str(manual.get("error") or gettext(texts.MANUAL_FAILED))
    return gettext(texts.MANUAL_NOT_YET)


def _page_urls(citations: Iterable[Any]) -> dict[int, str]:
    urls: dict[int, str] = {}
    for citation in citations or ():
        if not isinstance(citation, Mapping):
            continue
        url = safe_url(citation.get("url"))
        try:
            page = int(citation.get("page"))
        except (TypeError, ValueError):
            continue
        if url:
            urls.setdefault(page, url)
    return urls


@register.filter
def citation_links(text: object, citations: Iterable[Any] | None = None) -> SafeString:
    """Escape the answer and turn each `[p. N]` it cites into a link to that page, and each
    web address in it into a link to that address."""
    text = str(text or "")
    urls = _page_urls(citations or ())
    parts: list[tuple[str]] = []
    last = 0
    for marker in LINKABLE.finditer(text):
        parts.append((text[last : marker.start()],))
        url = marker.group("web") or urls.get(int(marker.group(1)))
        if url:
            link = format_html(
                '<a class="{}" href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
                "web" if marker.group("web") else "cite",
                url,
                marker.group(0),
            )
            parts.append((link,))
        else:
            parts.append((marker.group(0),))
        last = marker.end()
    parts.append((text[last:],))
    return format_html_join("", "{}", parts)


# A citation's snippet this short and without a sentence's end is a section heading.
HEADING_WORDS = 8


@register.filter
def cites_several_documents(citations: object) -> bool:
    """Whether the citations quote more than one document: then each says whose page it is
    (chat.js does the same)."""
    if not isinstance(citations, Iterable) or isinstance(citations, str):
        return False
    titles = {c.get("document") for c in citations if isinstance(c, Mapping)}
    return len(titles - {None, ""}) > 1


@register.filter
def source_snippet(citation: object, text: object) -> str:
    """What "Sources in the manual" quotes for a citation: its snippet, or, when that is only
    a heading, the answer's own words cited to that page (chat.js picks the same)."""
    if not isinstance(citation, Mapping):
        return ""
    snippet = " ".join(str(citation.get("snippet") or "").split())
    words = snippet.split()
    if len(words) > HEADING_WORDS or snippet.endswith((".", "!", "?", ":", ";", "…")):
        return snippet
    text = str(text or "")
    start = 0
    for marker in CITATION_MARKER.finditer(text):
        if str(marker.group(1)) == str(citation.get("page")):
            passage = " ".join(text[start : marker.start()].split())
            if passage:
                return shortened(passage)
            break
        start = marker.end()
    return snippet


@register.filter
def chip_brand(card: object) -> str:
    """The brand beside a product's name on a chip or above it on the card, unless the name
    already says the brand's first word: catalog brands are often longer than the name says
    them ("Paiste Cymbals", "Allen Heath" for "Allen & Heath ..."), and some names put the
    brand last ("FA-06 Roland"). chat.js `brandToSay` is the same."""
    if not isinstance(card, Mapping):
        return ""
    brand = str(card.get("brand") or "")
    brand_words = _words(brand)
    named = bool(brand_words) and brand_words[0] in _words(str(card.get("name") or ""))
    return "" if named else brand


@register.filter
def spoken_name(card: object) -> str:
    """A product as a sentence names it: its name, after the brand unless the name says it."""
    if not isinstance(card, Mapping):
        return ""
    brand = chip_brand(card)
    name = str(card.get("name") or "")
    return f"{brand} {name}" if brand else name


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[\W_]+", text.casefold()) if word]
