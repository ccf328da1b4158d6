"""Turning product names and customer text into comparable tokens.

Both sides go through the same function, so whatever spelling differences it folds away
(case, accents, dashes, `mk2`/`mkii`/`mk ii`, letters glued to digits) cannot make a
product unfindable. The split between letters and digits is what lets `rc600`, `RC-600`
and `rc 600` meet: all three become `rc`, `600`.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into a base letter plus a mark.
_FOLD = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ß": "ss", "\u0131": "i"}
    # Hebrew final forms: a customer who types "מקלדת כבלימ" on a phone means "כבלים".
    | {"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ"}  # noqa: RUF001
)

# A run of Latin letters, a run of digits, or a run of other letters (Hebrew, Cyrillic...):
# a script change splits a token, so a Hebrew prefix glued to a model name does not hide it.
_TOKEN = re.compile(r"[a-z]+|[0-9]+|[^\W\d_a-z]+")

_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}
_GLUED_MARK = re.compile(r"mk(i{1,3}|iv|v)")
# Words that introduce a generation number: Boss calls its third Katana both "MkIII" and
# "Gen 3", so both spellings fold to the same token.
_GENERATION_WORDS = {"mk", "mark", "gen"}

# A "+" that ends a word names a model ("MPC One+", "CR-Buds+", "ProFX6v3+"): a token of its
# own, so the Plus model and the plain one stay apart. Between words ("Tom+Snare") it is "and".
_PLUS = re.compile(r"(?<=[^\W_])\+(?=\s|$)")

# An apostrophe inside a word joins it ("don't" -> "dont"), so contractions do not leave
# stray letters behind that look like model suffixes ("6D", "AIR15s").
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])['\u2019\u02bc](?=[^\W\d_])")

# Function words that carry no product identity; dropped on both sides.
STOPWORDS = frozenset(
    """a an the my your our their his her its it i im ive id ill me we you youre they this
    that thats these those is isnt are arent was wasnt were be been am do does doesnt did didnt
    dont doing done have has had having how what whats when where why which who whom whose can
    cant could couldnt should would will wont to of in on at for with and or but not no nor
    so as if than then too very just
    about from by into onto over under again also any some all each both more most such only
    own same there here please thanks thank hi hey hello dear ok okay""".split()  # noqa: SIM905
)


def fold(text: str) -> str:
    """Lowercase, without accents or compatibility forms (superscripts, full-width letters)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _APOSTROPHE.sub("", stripped.casefold().translate(_FOLD))


def _singular(token: str) -> str:
    # "headphones" and "headphone", "drums" and "drum" (not "bass", "chorus", "keys").
    if len(token) >= 5 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    """The canonical tokens of `text`, in order, stopwords included."""
    return [token for token, _code in coded_tokens(text)]


def coded_tokens(text: str) -> list[tuple[str, bool]]:
    """Tokens with a flag: part of a model code (a word with a digit in it, like `RC-600`,
    `OG2`, `Katana-50`, `MkII`) rather than a plain word (`Acoustic`, `Koa`)."""
    return [(token, code) for token, code, _typed in _read(text)]


def _read(text: str) -> list[tuple[str, bool, str]]:
    """`coded_tokens`, each with the word as it was typed ("beeds" for "beed")."""
    raw: list[str] = []
    codes: list[bool] = []
    for chunk in _PLUS.sub(" plus", fold(text)).split():
        found = _TOKEN.findall(chunk)
        is_code = (
            any(token.isdigit() for token in found)
            or bool(_GLUED_MARK.search(chunk))
            or chunk == "plus"
        )
        raw.extend(found)
        codes.extend([is_code] * len(found))
    out: list[tuple[str, bool, str]] = []
    i = 0
    while i < len(raw):
        token = raw[i]
        following = raw[i + 1] if i + 1 < len(raw) else ""
        if token in _GENERATION_WORDS and (following.isdigit() or following in _ROMAN):
            generation = "mk" + (following if following.isdigit() else _ROMAN[following])
            out.append((generation, True, generation))
            i += 2
            continue
        glued = _GLUED_MARK.fullmatch(token)
        if glued is not None:
            out.append(("mk" + _ROMAN[glued.group(1)], True, token))
        elif token in ("ii", "iii"):
            out.append((_ROMAN[token], True, token))
        else:
            out.append((_singular(token) if token.isalpha() else token, codes[i], token))
        i += 1
    return out


def glued_tokens(text: str) -> list[frozenset[str]]:
    """The content tokens of each word of `text` that holds several ("n32b": n, 32, b;
    "ds-1": ds, 1): typed as one word, they name one thing together."""
    groups = (frozenset(content_tokens(word)) for word in text.split())
    return [group for group in groups if len(group) > 1]


def content_tokens(text: str) -> list[str]:
    """`tokens(text)` without stopwords (see `content_coded_tokens`)."""
    return [token for token, _code in content_coded_tokens(text)]


def content_coded_tokens(text: str) -> list[tuple[str, bool]]:
    """`coded_tokens(text)` without stopwords, except inside a model code: the "A" of
    "WA76-A" and the "AM" of "IP-5AM" tell a variant from its base model."""
    return [(token, code) for token, code, _typed in _content(text)]


def content_typed_tokens(text: str) -> list[tuple[str, str]]:
    """`content_tokens(text)`, each with the word as typed ("beeds" for "beed")."""
    return [(token, typed) for token, _code, typed in _content(text)]


def _content(text: str) -> list[tuple[str, bool, str]]:
    return [item for item in _read(text) if item[1] or item[0] not in STOPWORDS]
