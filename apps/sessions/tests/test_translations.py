"""Every sentence a customer can see exists in Hebrew.

The msgids are extracted here the way makemessages does (Django's `templatize` for templates,
Babel's Python extractor for code), so the test needs no GNU gettext, and is compared with the
committed catalog. Templates, attributes and chat.js are also searched for sentences that were
never marked for translation at all.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

from apps.sessions import texts

ROOT = Path(settings.BASE_DIR)
CATALOG = ROOT / "locale" / "he" / "LC_MESSAGES" / "django.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
# Pages a customer sees (staff pages, admin, console and dashboard, are in English).
CUSTOMER_TEMPLATES = sorted(
    path
    for path in (ROOT / "templates").rglob("*.html")
    if not {"admin", "console", "dashboard"} & set(path.relative_to(ROOT / "templates").parts)
    and "admin" not in path.name
)
# Parts below the checkout: a checkout may itself sit in a directory called tests.
CUSTOMER_CODE = sorted(
    path
    for path in (ROOT / "apps" / "sessions").rglob("*.py")
    if "tests" not in path.relative_to(ROOT).parts
)
CHAT_SCRIPTS = sorted((ROOT / "static" / "chat").glob("*.js"))


def _extract(source: str) -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _line, message, _comments, _context in extract(
        "python", io.BytesIO(source.encode()), keywords=KEYWORDS, options={"encoding": "utf-8"}
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _msgids() -> dict[str | tuple[str, ...], str]:
    where: dict[str | tuple[str, ...], str] = {}
    for path in CUSTOMER_TEMPLATES:
        # templatize keeps line numbers for xgettext, not Python's indentation rules.
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        flat = "\n".join(line.strip() for line in code.splitlines())
        for msgid in _extract(flat):
            where.setdefault(msgid, str(path.relative_to(ROOT)))
    for path in CUSTOMER_CODE:
        for msgid in _extract(path.read_text(encoding="utf-8")):
            where.setdefault(msgid, str(path.relative_to(ROOT)))
    return where


def _catalog() -> dict[str | tuple[str, ...], object]:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="he")
    return {(m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalog if m.id}


def test_every_customer_visible_msgid_has_a_hebrew_translation():
    catalog = _catalog()
    missing, untranslated, fuzzy = [], [], []
    for msgid, where in sorted(_msgids().items(), key=lambda item: str(item[0])):
        message = catalog.get(msgid)
        if message is None:
            missing.append((where, msgid))
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(s.strip() for s in strings):
            untranslated.append((where, msgid))
        if message.fuzzy:
            fuzzy.append((where, msgid))
    assert not missing, f"not in {CATALOG.name} (run makemessages -l he): {missing}"
    assert not untranslated, f"no Hebrew for: {untranslated}"
    assert not fuzzy, f"fuzzy, so not used: {fuzzy}"


def test_the_extraction_finds_the_sentences_the_page_is_made_of():
    # The check above is only as good as its extraction.
    found = _msgids()
    assert "Your question" in found
    assert "Not covered in the manual" in found
    assert any(isinstance(msgid, tuple) and "second" in msgid[0] for msgid in found)


_TEMPLATE_CODE = re.compile(
    r"{%\s*(block)?translate\b.*?%}.*?{%\s*endblocktranslate\s*%}"
    r"|{%.*?%}|{{.*?}}|{#.*?#}",
    re.S,
)
_SENTENCE_ATTRIBUTES = re.compile(r'\b(placeholder|aria-label|title|alt)="([^"]*)"', re.I)


@pytest.mark.parametrize("path", CUSTOMER_TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_sentence_outside_a_translation(path: Path):
    source = path.read_text(encoding="utf-8")
    for name, value in _SENTENCE_ATTRIBUTES.findall(source):
        bare = _TEMPLATE_CODE.sub("", value)
        assert not re.search(r"[A-Za-z]{2,}", bare), f"{path.name}: {name}={value!r}"
    text = _TEMPLATE_CODE.sub(" ", source)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]*>", " ", text)
    words = re.findall(r"[A-Za-z][A-Za-z']+", text)
    assert not words, f"{path.name} shows untranslated text: {' '.join(words)[:200]}"


_JS_STRING = re.compile(r'(\bt\(\s*)?"((?:[^"\\]|\\.)*)"')


@pytest.mark.parametrize("path", CHAT_SCRIPTS, ids=lambda p: p.name)
def test_chat_script_sentences_go_through_the_catalog(path: Path):
    known = set(texts.browser_strings())
    for wrapped, literal in _JS_STRING.findall(path.read_text(encoding="utf-8")):
        sentence = re.search(r"[A-Za-z]{2,}[ ?.,:…][^\s]*", literal)
        if wrapped:
            assert literal in known, f"{path.name}: t({literal!r}) is not in texts.py"
        elif sentence and re.match(r"^[A-Z][a-z]", literal):
            pytest.fail(f"{path.name}: {literal!r} is shown without t()")
