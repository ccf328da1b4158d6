"""Every sentence of our own that an answer carries, marked for Django's gettext.

The quoted manual text stays as printed; these frame it (where it comes from, the page
labels, the abstention) and follow the customer's language: `phrase(key, lang, ...)` renders
under `translation.override(lang)`. Their Hebrew is in the project's one catalogue,
locale/he (compiled by `make messages`).
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import pgettext_lazy

SUPPORTED = ("en", "he")

PHRASES = {
    "according": pgettext_lazy("answer framing", "According to %(document)s:"),
    "not_covered": pgettext_lazy("answer framing", "The manual does not cover this question."),
    "searched": pgettext_lazy(
        "answer framing",
        "I searched %(documents)s and found no passage that answers it, so I will not guess; "
        "try other words, or ask our staff.",
    ),
    "the_manual": pgettext_lazy("answer framing", "the manual"),
    # Hebrew joins "and" to the next word, with a hyphen before a Latin title.
    "and": pgettext_lazy("list of documents", "%(others)s and %(last)s"),
    "page": pgettext_lazy("citation marker, one page", "p. %(pages)s"),
    "pages": pgettext_lazy("citation marker, a page range", "pp. %(pages)s"),
    "llm_failed": pgettext_lazy(
        "answer framing",
        "The language model could not finish this answer, so here is the answer quoted "
        "from the manual instead:",
    ),
    "llm_uncited": pgettext_lazy(
        "answer framing",
        "The language model gave no page references, so here is the answer quoted "
        "from the manual instead:",
    ),
}


def language(lang: str | None) -> str:
    return lang if lang in SUPPORTED else "en"


def phrase(key: str, lang: str | None = None, **values: object) -> str:
    with translation.override(language(lang)):
        text = str(PHRASES[key])
    return text % values if values else text


def document_list(titles: list[str], lang: str | None = None) -> str:
    titles = [title for title in dict.fromkeys(titles) if title] or [phrase("the_manual", lang)]
    if len(titles) == 1:
        return titles[0]
    return phrase("and", lang, others=", ".join(titles[:-1]), last=titles[-1])
