"""Hebrew in what customers type: brand and model names written in Hebrew letters, Hebrew
category words, prefixes glued to a name, final letters, and text typed on the wrong layout.

`HebrewLexicon.rewrite` turns such text into the Latin words the catalog's names use, before
the index reads it ("מקלדת נורד" -> "keyboard nord", "לשאשמש" -> "katana", "rukbs" ->
"roland"). The lexicon is built from the aliases staff edit in the admin (BrandAlias,
TermAlias); words it does not know stay as they were, so Hebrew that the catalog's own names
carry still matches. Everything here is dictionary look-ups on the typed words: it runs on
every keystroke.
"""

# ruff: noqa: RUF001 -- Hebrew letters that look like Latin ones are the point of this module.
from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable

from apps.products.prediction.words import EVERYDAY_ZIPF, is_common_word

# Final forms fold to the ordinary letter, on both sides (normalize.fold does the same).
FINAL_LETTERS = str.maketrans({"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ"})
# Letters that attach to the next word: and, in, to, the, from, that, as.
PREFIXES = frozenset("ובלהמשכ")
_MAX_PREFIXES = 2
_MAX_WORDS = 3  # the longest alias, in words ("אלן אנד הית")

# The Israeli keyboard layout (SI 1452): the Hebrew character each Latin key types.
_LAYOUT_KEYS = {
    "q": "/", "w": "'", "e": "ק", "r": "ר", "t": "א", "y": "ט", "u": "ו", "i": "ן", "o": "ם",
    "p": "פ", "a": "ש", "s": "ד", "d": "ג", "f": "כ", "g": "ע", "h": "י", "j": "ח", "k": "ל",
    "l": "ך", ";": "ף", "'": ",", "z": "ז", "x": "ס", "c": "ב", "v": "ה", "b": "נ", "n": "מ",
    "m": "צ", ",": "ת", ".": "ץ", "/": ".",
}  # fmt: skip
LATIN_TO_HEBREW = str.maketrans({k: v for k, v in _LAYOUT_KEYS.items() if v >= "\u05d0"})
HEBREW_TO_LATIN = str.maketrans({v: k for k, v in _LAYOUT_KEYS.items() if v >= "\u05d0"})

_HEBREW = re.compile(r"[\u05d0-\u05ea]")
# A Hebrew word (geresh and gershayim inside it: ג'ז, צ'לו, דו"ח), or any other run of
# letters, digits and the punctuation a layout slip produces (",", ";", ".", "'").
_CHUNK = re.compile(
    r"[\u05d0-\u05ea]+(?:['\"\u05f3\u05f4][\u05d0-\u05ea]+)*['\u05f3]?|[^\s\u05d0-\u05ea]+"
)
_LATIN_WORD = re.compile(r"[a-z;,.']{3,}")
_QUOTES = re.compile(r"['\"\u05f3\u05f4]")
# Wrong-layout text turned into Latin is used only when it is a word of the catalog this long.
_MIN_LAYOUT_WORD = 3
_CODE_FOLLOWS = re.compile(r"-?[0-9]")


def has_hebrew(text: str) -> bool:
    return bool(_HEBREW.search(text))


def fold_hebrew(word: str) -> str:
    """Without niqqud, cantillation, quotes and final forms: the key of a lexicon entry."""
    decomposed = unicodedata.normalize("NFKD", word)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _QUOTES.sub("", bare).translate(FINAL_LETTERS)


class HebrewLexicon:
    """Hebrew words and phrases (folded) -> the Latin words they stand for."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._terms: dict[str, str] = {}
        for hebrew, latin in pairs:
            key = " ".join(fold_hebrew(word) for word in hebrew.split())
            if key and latin.strip() and _HEBREW.search(key):
                self._terms.setdefault(key, latin.strip().lower())

    def __len__(self) -> int:
        return len(self._terms)

    def rewrite(self, text: str, known: Container[str]) -> str:
        """`text` with the Hebrew it knows in Latin; `known` holds the index's tokens, which
        decides whether a word typed on the wrong layout was meant in the other script."""
        lowered = text.lower()
        if lowered.isascii() and not any(
            word not in known for word in _LATIN_WORD.findall(lowered)
        ):
            return text  # the common case: English the index reads as it is
        chunks = _CHUNK.findall(lowered)
        out: list[str] = []
        i = 0
        switched = False  # the previous word was typed on the wrong layout
        while i < len(chunks):
            taken, latin = self._phrase(chunks, i)
            if taken:
                out.append(latin)
                i += taken
                switched = False
                continue
            following = chunks[i + 1] if i + 1 < len(chunks) else ""
            word = self._word(chunks[i], known, following, switched)
            switched = word != chunks[i] and bool(word) and word.isascii() != chunks[i].isascii()
            out.append(word)
            i += 1
        return " ".join(part for part in out if part)

    def _phrase(self, chunks: list[str], start: int) -> tuple[int, str]:
        """The longest known phrase of Hebrew words at `start` (its first word may carry
        prefixes): how many chunks it takes, and its Latin."""
        for size in range(min(_MAX_WORDS, len(chunks) - start), 0, -1):
            words = chunks[start : start + size]
            if not all(_HEBREW.match(word) for word in words):
                continue
            rest = " ".join(fold_hebrew(word) for word in words[1:])
            for first in _forms(fold_hebrew(words[0])) if size == 1 else prefixed_forms(words[0]):
                latin = self._terms.get(f"{first} {rest}".strip())
                if latin is not None:
                    return size, latin
        return 0, ""

    def _word(self, chunk: str, known: Container[str], following: str, switched: bool) -> str:
        if _HEBREW.match(chunk):
            # Hebrew letters for a Latin name ("לשאשמש" is "katana" on the Hebrew layout);
            # two letters are enough for the letters of a model code ("רב-505" is "rc-505").
            latin = chunk.translate(HEBREW_TO_LATIN)
            # ...and one after a word on the wrong layout too (the "x" of "mini x").
            shortest = 1 if switched else 2 if _CODE_FOLLOWS.match(following) else _MIN_LAYOUT_WORD
            # A common Hebrew word ("איך", how, is "thl" on the other layout) is Hebrew, unless
            # a model code follows it or the word before it was a slip.
            if (
                len(latin) >= shortest
                and latin in known
                and (shortest < _MIN_LAYOUT_WORD or not is_common_word(chunk, "he"))
            ):
                return latin
            if len(chunk) == 1 and chunk in PREFIXES:
                return ""  # "ב-LX-88": the prefix of the model that follows
            return chunk
        if chunk in known or not _LATIN_WORD.fullmatch(chunk):
            return chunk
        # Latin letters for a Hebrew word ("rukbs" is "רולנד" on the English layout).
        hebrew = fold_hebrew(chunk.translate(LATIN_TO_HEBREW))
        for word in _forms(hebrew):
            latin = self._terms.get(word)
            if latin is not None:
                return latin
        return chunk


def prefixed_forms(word: str) -> list[str]:
    """The word, then the word without one or two leading prefix letters."""
    word = fold_hebrew(word)
    forms = [word]
    for cut in range(1, _MAX_PREFIXES + 1):
        if len(word) - cut >= 2 and all(letter in PREFIXES for letter in word[:cut]):
            forms.append(word[cut:])
    return forms


def _forms(word: str) -> list[str]:
    """`prefixed_forms`, each also in the singular: מגברים -> מגבר, גיטרות -> גיטרה,
    מקלדות -> מקלדת."""
    forms: list[str] = []
    for form in prefixed_forms(word):
        forms.append(form)
        if len(form) > 4 and form.endswith("ימ"):
            forms.append(form[:-2])
        elif len(form) > 4 and form.endswith("ות"):
            forms.extend((form[:-2] + "ה", form[:-2] + "ת", form[:-2]))
    return forms


def is_everyday_hebrew(word: str) -> bool:
    """The word as written, or behind one or two prefix letters ("בארץ", in the land), is an
    everyday Hebrew word: Hebrew, whatever catalog or manual word it sounds like ("מכשיר",
    a device, sounds like "mixer")."""
    forms = [word, *(word[cut:] for cut in (1, 2) if len(word) - cut >= 2)]
    return any(
        is_common_word(form, "he", EVERYDAY_ZIPF)
        for cut, form in enumerate(forms)
        if all(letter in PREFIXES for letter in word[:cut])
    )
