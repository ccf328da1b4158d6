"""What a link's words say about a document: its kind and its language (English and Hebrew
first, the other languages vendors publish in too)."""

from __future__ import annotations

import re

from apps.manuals.models import Manual
from apps.products.prediction.normalize import fold

Kind = Manual.DocumentKind

# Most specific first: "MIDI Implementation" is not an owner's manual, "Quick Reference" is a
# quick start. Patterns run on folded text (lowercase, no accents, "owner's" -> "owners").
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (Kind.MIDI_IMPLEMENTATION, re.compile(r"midi\s*(impl|implementation|chart)")),
    (Kind.PARAMETER_GUIDE, re.compile(r"parameter\s*(guide|list)|\bparameters?\b|פרמטר")),
    (
        Kind.QUICK_START,
        re.compile(
            r"quick\s*(start|guide|reference)|quickstart|getting\s*started|startup\s*guide"
            r"|\bqsg\b|התחלה\s*מהירה|מדריך\s*מהיר"
        ),
    ),
    (Kind.REFERENCE, re.compile(r"reference\s*(manual|guide)|\breference\b|מדריך\s*עזר")),
    (
        Kind.OWNERS_MANUAL,
        re.compile(
            r"owners?\s*(manual|guide)|users?\s*(manual|guide)|instruction|operation\s*manual"
            r"|operating\s*(manual|instructions)|bedienungsanleitung|handbuch|mode\s*d\s*emploi"
            r"|manuale|manual\s*del?\s*usuario|\bom\b|מדריך\s*ל?משתמש|הוראות\s*(הפעלה|שימוש)"
            r"|חוברת\s*הפעלה"
        ),
    ),
    (
        Kind.OTHER,
        re.compile(
            r"sound\s*list|data\s*list|addendum|supplement|release\s*notes|spec(ification)?s?"
            r"\s*sheet|brochure|leaflet|safety|warranty|conformity|service\s*notes|catalog"
        ),
    ),
    (Kind.OWNERS_MANUAL, re.compile(r"\bmanual\b|\bguide\b|מדריך|חוברת")),
)

# Links to things that are not documents to read, whatever their file type.
_NOT_A_DOCUMENT = re.compile(
    r"firmware|driver|software|installer|\bupdater?\b|editor|librarian|plug\s*-?\s*in"
    r"|sound\s*pack|wallpaper|\blogo\b|\bapp\b|עדכון|דרייבר|תוכנה"
)

LANGUAGE_NAMES = {
    "english": "en", "eng": "en", "englisch": "en", "anglais": "en", "ingles": "en",
    "hebrew": "he", "עברית": "he", "heb": "he",
    "deutsch": "de", "german": "de", "ger": "de", "deu": "de",
    "francais": "fr", "french": "fr", "fra": "fr", "fre": "fr",
    "espanol": "es", "spanish": "es", "spa": "es", "esp": "es",
    "italiano": "it", "italian": "it", "ita": "it",
    "japanese": "ja", "日本語": "ja", "jpn": "ja",
    "chinese": "zh", "中文": "zh", "简体中文": "zh", "繁體中文": "zh", "chs": "zh", "cht": "zh",
    "nederlands": "nl", "dutch": "nl",
    "portugues": "pt", "portuguese": "pt", "por": "pt",
    "русскии": "ru", "russian": "ru", "rus": "ru",
    "polski": "pl", "polish": "pl",
    "korean": "ko", "한국어": "ko",
    "svenska": "sv", "swedish": "sv",
}  # fmt: skip
# Two-letter codes as vendors write them in file names and paths.
LANGUAGE_CODES = {
    "en": "en", "he": "he", "iw": "he", "de": "de", "fr": "fr", "es": "es", "it": "it",
    "ja": "ja", "jp": "ja", "zh": "zh", "cn": "zh", "nl": "nl", "pt": "pt", "ru": "ru",
    "pl": "pl", "ko": "ko", "kr": "ko", "sv": "sv",
}  # fmt: skip
_UPPER_CODE = re.compile(
    r"(?<![A-Za-z])(EN|HE|DE|FR|ES|IT|JA|JP|ZH|CN|NL|PT|RU|PL|KO|SV)(?![A-Za-z])"
)
_HEBREW = re.compile(r"[\u0590-\u05ff]")
_WORD = re.compile(r"[^\W\d_]+")


def document_kind(*texts: str) -> str:
    """The first kind any of `texts` names, in order of trust; "" when none does."""
    for text in texts:
        folded = fold(text)
        for kind, pattern in _KINDS:
            if pattern.search(folded):
                return kind
    return ""


def not_a_document(text: str) -> bool:
    return bool(_NOT_A_DOCUMENT.search(fold(text)))


def language_named(text: str) -> str:
    """The language a short text names ("English", "עברית", "(DE)"), or ""."""
    for word in _WORD.findall(fold(text)):
        if word in LANGUAGE_NAMES:
            return LANGUAGE_NAMES[word]
    code = _UPPER_CODE.search(text)
    if code:
        return LANGUAGE_CODES[code.group(1).lower()]
    return ""


def language_in_url_words(words: list[str]) -> str:
    """A language code or name among the pieces of a file name or path (`_en.pdf`, `/de/`)."""
    for word in words:
        if word in LANGUAGE_CODES:
            return LANGUAGE_CODES[word]
        if word in LANGUAGE_NAMES:
            return LANGUAGE_NAMES[word]
    return ""


def written_in_hebrew(text: str) -> bool:
    return bool(_HEBREW.search(text))
