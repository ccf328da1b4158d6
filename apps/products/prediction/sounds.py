"""Catalog names written in Hebrew letters by their sound: "פלייטס" for Plaits, "מארבלס" for
Marbles, when no staff alias says so.

Both scripts are reduced to the consonants a Hebrew spelling of the name would keep, in
classes where Hebrew does not tell the letters apart (פ is p or f, ב and וו are b, v or w,
ש and ס are s), vowels dropped, since Hebrew writes few of them and English many. A Hebrew word
stands for a catalog word when their consonants agree; where several catalog words share
them ("plait", "plate", "flute"), the vowels the Hebrew does write (yod, vav, alef) pick one or
none. Short skeletons are ignored, since two consonants match too many words.
"""

# ruff: noqa: RUF001, RUF002 -- Hebrew letters are the point of this module.
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from apps.products.prediction.hebrew import fold_hebrew, has_hebrew, prefixed_forms

# A name needs this many consonants before its sound alone may name it: "ביידס" (b-d-s) for
# Beads is as far down as it goes.
MIN_CONSONANTS = 3
MIN_LETTERS = 4

_LATIN_DIGRAPHS = (
    ("ph", "p"), ("sh", "s"), ("ch", "ts"), ("th", "t"), ("ck", "k"), ("qu", "kb"), ("tz", "ts"),
)  # fmt: skip
_LATIN = str.maketrans(
    {
        "b": "b", "v": "b", "w": "b", "f": "p", "p": "p", "k": "k", "q": "k", "g": "g",
        "j": "g", "d": "d", "t": "t", "s": "s", "z": "z", "l": "l", "m": "m", "n": "n",
        "r": "r", "h": "h", "x": "ks",
        "a": None, "e": None, "i": None, "o": None, "u": None, "y": None,
    }
)  # fmt: skip
_SOFT_C = re.compile(r"c(?=[eiy])")

# g and j are one class, as are ts and ch: the tokenizer drops the geresh that tells ג' from ג
# and צ' from צ ("ג'ופיטר" arrives as "גופיטר").
_HEBREW = {
    "ב": "b", "ג": "g", "ד": "d", "ה": "h", "ז": "z", "ח": "h", "ט": "t", "כ": "k", "ל": "l",
    "מ": "m", "נ": "n", "ס": "s", "פ": "p", "צ": "ts", "ק": "k", "ר": "r", "ש": "s", "ת": "t",
}  # fmt: skip


def latin_sound(word: str) -> str:
    """The consonant skeleton of a Latin word: "plaits" -> "plts", "quantum" -> "kbntm"."""
    text = word.lower()
    for digraph, sound in _LATIN_DIGRAPHS:
        text = text.replace(digraph, sound)
    text = _SOFT_C.sub("s", text).replace("c", "k")
    return _single(text.translate(_LATIN)) if text.isalpha() and text.isascii() else ""


def hebrew_sound(word: str) -> str:
    """The consonant skeleton of a Hebrew word: "פלייטס" -> "plts", "קוונטום" -> "kbntm".

    Alef, ayin and yod are vowels here, and so are a single vav and a final he; a double vav
    is v (or w).
    """
    letters = fold_hebrew(word)
    out: list[str] = []
    position = 0
    while position < len(letters):
        letter = letters[position]
        following = letters[position + 1] if position + 1 < len(letters) else ""
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


def hebrew_vowels(word: str) -> str:
    """The vowels a Hebrew spelling writes, in order: yod i (also e, ai, ei), a single vav u
    (also o), alef and ayin a: "פלייטס" -> "i", "מארבלס" -> "a"."""
    letters = fold_hebrew(word)
    out: list[str] = []
    for position, letter in enumerate(letters):
        if letter == "י":
            out.append("i")
        elif letter == "ו" and "ו" not in (
            letters[position - 1] if position else "",
            letters[position + 1 : position + 2],
        ):
            out.append("u")
        elif letter in "אע":
            out.append("a")
    return _single("".join(out))


_VOWEL_RUN = re.compile(r"[aeiouy]+")
_SOUNDS_I = frozenset({"ai", "ay", "ei", "ey", "ee", "ea"})


def latin_vowels(word: str) -> str:
    """The vowels of a Latin word as a Hebrew spelling would write them: "plait" -> "i",
    "plate" -> "a" (a final e is silent), "flute" -> "u"."""
    text = word.lower()
    if len(text) > 3 and text.endswith("e") and text[-2] not in "aeiouy":
        text = text[:-1]
    out: list[str] = []
    for run in _VOWEL_RUN.findall(text):
        if run in _SOUNDS_I or "i" in run or "y" in run:
            out.append("i")
        elif "o" in run or "u" in run:
            out.append("u")
        else:
            out.append("a" if run.startswith("a") else "e")
    return _single("".join(out))


def _agreement(first: str, second: str) -> int:
    """How many vowels two spellings share, in order (their longest common subsequence)."""
    previous = [0] * (len(second) + 1)
    for letter in first:
        current = [0]
        for position, other in enumerate(second):
            current.append(
                previous[position] + 1
                if letter == other
                else max(previous[position + 1], current[position])
            )
        previous = current
    return previous[-1]


def _fit(vowels: str, word: str) -> tuple[int, int]:
    """How far a catalog word's vowels are from a Hebrew spelling's (lower fits better): the
    vowels they share first, then the word's vowels the spelling leaves out, since a Hebrew
    spelling of a foreign name writes most of them ("מארבלס" is marble, not marybell)."""
    spoken = latin_vowels(word)
    shared = _agreement(vowels, spoken)
    return -shared, len(spoken) - shared


class SoundMap:
    """Catalog words by the skeleton a Hebrew spelling of them would have."""

    def __init__(self, words: Iterable[str]) -> None:
        """`words` are the index's tokens, singular ("plait"): a Hebrew spelling keeps the
        plural's s ("פלייטס"), so each is heard with it too."""
        self._words: dict[str, list[str]] = {}
        for word in words:
            if not word.isalpha() or not word.isascii():
                continue
            spoken = {word} if word.endswith("s") else {word, word + "s"}
            for form in spoken:
                sound = latin_sound(form)
                if len(form) < MIN_LETTERS or len(sound) < MIN_CONSONANTS:
                    continue
                heard = self._words.setdefault(sound, [])
                if word not in heard:
                    heard.append(word)

    def word_for(self, hebrew: str) -> str | None:
        """The catalog word this Hebrew word sounds like, its prefixes ("ב", "ל", ...) tried
        off one by one. Where several catalog words share its consonants ("plait", "plate",
        "flute", "felt"), the vowels it writes decide (`_fit`); None when they do not."""
        if not has_hebrew(hebrew):
            return None
        for form in prefixed_forms(hebrew):
            sound = hebrew_sound(form)
            heard = self._words.get(sound) if len(sound) >= MIN_CONSONANTS else None
            if not heard:
                continue
            if len(heard) == 1:
                return heard[0]
            vowels = hebrew_vowels(form)
            ranked = sorted((_fit(vowels, word), word) for word in heard)
            best, second = ranked[0][0], ranked[1][0]
            return ranked[0][1] if best < second else None
        return None
