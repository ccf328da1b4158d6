"""Catalog names written in Hebrew letters by their sound: "פלייטס" for Plaits, "מארבלס" for
Marbles, when no staff alias says so.

Both scripts are reduced to the consonants a Hebrew spelling of the name would keep, in
classes where Hebrew does not tell the letters apart (פ is p or f, ב and וו are b, v or w,
ש and ס are s), vowels dropped, since Hebrew writes few of them and English many. A Hebrew word
stands for a catalog word when their consonants agree and no other catalog word of that sound
exists; short skeletons are ignored, since two or three consonants match too many words.
"""

# ruff: noqa: RUF001, RUF002 -- Hebrew letters are the point of this module.
from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

from apps.products.prediction.hebrew import FINAL_LETTERS, prefixed_forms

# A name needs this many consonants before its sound alone may name it: "ביידס" (b-d-s) for
# Beads is as far down as it goes.
MIN_CONSONANTS = 3
MIN_LETTERS = 4

_LATIN_DIGRAPHS = (
    ("ph", "p"), ("sh", "s"), ("ch", "c"), ("th", "t"), ("ck", "k"), ("qu", "kb"), ("tz", "ts"),
)  # fmt: skip
_LATIN = str.maketrans(
    {
        "b": "b", "v": "b", "w": "b", "f": "p", "p": "p", "k": "k", "q": "k", "g": "g",
        "j": "j", "d": "d", "t": "t", "s": "s", "z": "z", "l": "l", "m": "m", "n": "n",
        "r": "r", "h": "h", "x": "ks",
        "a": None, "e": None, "i": None, "o": None, "u": None, "y": None,
    }
)  # fmt: skip
_SOFT_C = re.compile(r"c(?=[eiy])")
_SOFT_G = re.compile(r"d?g(?=e$)")  # "stage", "bridge": Hebrew writes them with ג'

# With a geresh: ג' is j, ז' is j (as in "garage"), צ' is ch, ת' is th.
_HEBREW_GERESH = {"ג": "j", "ז": "j", "צ": "c", "ת": "t"}
_HEBREW = {
    "ב": "b", "ג": "g", "ד": "d", "ה": "h", "ז": "z", "ח": "h", "ט": "t", "כ": "k", "ל": "l",
    "מ": "m", "נ": "n", "ס": "s", "פ": "p", "צ": "ts", "ק": "k", "ר": "r", "ש": "s", "ת": "t",
}  # fmt: skip
_GERESH = "'\u05f3"


def latin_sound(word: str) -> str:
    """The consonant skeleton of a Latin word: "plaits" -> "plts", "quantum" -> "kbntm"."""
    text = word.lower()
    for digraph, sound in _LATIN_DIGRAPHS:
        text = text.replace(digraph, sound)
    text = _SOFT_G.sub("j", _SOFT_C.sub("s", text)).replace("c", "k")
    return _single(text.translate(_LATIN)) if text.isalpha() and text.isascii() else ""


def hebrew_sound(word: str) -> str:
    """The consonant skeleton of a Hebrew word: "פלייטס" -> "plts", "קוונטום" -> "kbntm".

    Alef, ayin and yod are vowels here, and so are a single vav and a final he; a double vav
    is v (or w).
    """
    decomposed = unicodedata.normalize("NFKD", word.replace("\u05f3", "'"))
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    letters = letters.translate(FINAL_LETTERS)
    out: list[str] = []
    position = 0
    while position < len(letters):
        letter = letters[position]
        following = letters[position + 1] if position + 1 < len(letters) else ""
        if following in _GERESH and letter in _HEBREW_GERESH:
            out.append(_HEBREW_GERESH[letter])
            position += 2
            continue
        if letter == "ו":
            if following == "ו":
                out.append("b")
                position += 1
        elif letter == "ה" and position == len(letters) - 1:
            pass
        elif letter in _HEBREW:
            out.append(_HEBREW[letter])
        position += 1
    return _single("".join(out))


def _single(sound: str) -> str:
    """Doubled consonants once: Hebrew writes "ambassador" with one s."""
    return "".join(letter for letter, _ in itertools.groupby(sound))


class SoundMap:
    """Catalog words by the skeleton a Hebrew spelling of them would have."""

    def __init__(self, words: Iterable[str]) -> None:
        """`words` are the index's tokens, singular ("plait"): a Hebrew spelling keeps the
        plural's s ("פלייטס"), so each is heard with it too."""
        found: dict[str, str | None] = {}
        for word in words:
            if not word.isalpha() or not word.isascii():
                continue
            spoken = {word} if word.endswith("s") else {word, word + "s"}
            for form in spoken:
                sound = latin_sound(form)
                if len(form) < MIN_LETTERS or len(sound) < MIN_CONSONANTS:
                    continue
                # Two catalog words of one sound ("plait", "plate"): the sound names neither.
                found[sound] = None if sound in found and found[sound] != word else word
        self._words = {sound: word for sound, word in found.items() if word is not None}

    def __len__(self) -> int:
        return len(self._words)

    def word_for(self, hebrew: str) -> str | None:
        """The catalog word this Hebrew word sounds like, its prefixes ("ב", "ל", ...) tried
        off one by one; None when none or several do."""
        for form in prefixed_forms(hebrew):
            sound = hebrew_sound(form)
            if len(sound) >= MIN_CONSONANTS and sound in self._words:
                return self._words[sound]
        return None
