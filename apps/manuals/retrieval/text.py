"""Terms of manuals and questions: the Snowball English stemmer, Hebrew kept, product names.

English words are stemmed with PyStemmer's Snowball "english" algorithm. Hebrew words are
kept (a manual is usually English, but a question may mix in English terms, and a Hebrew
manual must still be searchable); Hebrew glues the prefix letters vav, he, bet, lamed, mem,
shin and kaf to the word, so a Hebrew word also gives the forms without one or two of them,
on both sides. Model numbers stay whole: "LX-88" and "LX88" both give "lx88".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import Stemmer
from rapidfuzz.distance import OSA

from apps.products.prediction.sounds import SoundMap
from apps.products.prediction.words import is_common_word

_STEMMER = Stemmer.Stemmer("english")
# Slips a typed word may hold and still be read as another word.
LETTERS_PER_EDIT = 5
MAX_EDITS = 2
_HEBREW_LETTERS = "\u05d0-\u05ea"
_TOKEN = re.compile(
    rf"[a-z0-9{_HEBREW_LETTERS}\u00e0-\u00ff]+(?:[-./][a-z0-9{_HEBREW_LETTERS}]+)*",
    re.IGNORECASE,
)
_NIQQUD = re.compile(r"[\u0591-\u05c7\u05f3\u05f4'\"]")
_HEBREW_WORD = re.compile(rf"[{_HEBREW_LETTERS}]")
_HEBREW_PREFIXES = frozenset("והבלמשכ")
_TECHNICAL_WEIGHT = 2.0
# A prefix-stripped Hebrew form is a guess, so it weighs less than the word as written.
_HEBREW_VARIANT_WEIGHT = 0.6

STOPWORDS = frozenset(
    """a about after all also am an and any are as at be been before being but by can could
    did do does doing don for from get gets getting had has have how i if in into is it its
    me my myself no not of on once only or other our out over own please same should so some
    such than that the their them then there these they this those through to too under until
    up very was way we were what when where which while who whom why will with would you your
    yours want need know tell manual say says said use using used make work works many much
    long take takes turn hear come comes keep keeps there here get got thing things thanks
    thank hello hi hey ok okay yeah yes alright sure cool
    whats thats theres doesnt dont didnt isnt cant wont doesn isn didn im ive youre
    מה איך אני את של על זה זאת זו יש אין לא אם עם גם כמה האם אפשר למה מתי איפה הוא היא הם
    הן אותו אותה שלי לי או כל עוד רק כן אבל כדי צריך רוצה ניתן יכול יכולה אפשרי בבקשה תודה
    שלום היי לו לה מי יותר פה כאן אוקיי אוקי בסדר סבבה אז""".split()  # noqa: SIM905 - a word list reads better as prose
)


def _without_prefixes(word: str, shortest: int) -> list[str]:
    """The word without its first one and first two letters, where they are prefix letters
    and at least `shortest` letters remain."""
    return [
        word[cut:]
        for cut in (1, 2)
        if len(word) - cut >= shortest and all(letter in _HEBREW_PREFIXES for letter in word[:cut])
    ]


def _is_stopword(word: str) -> bool:
    """A stop word, or one behind Hebrew prefix letters ("ואיך", "שיש", "בזה"), which Hebrew
    writes joined to the next word."""
    return word in STOPWORDS or any(rest in STOPWORDS for rest in _without_prefixes(word, 2))


def _hebrew_forms(word: str) -> list[str]:
    """The word and, when it starts with prefix letters, the word without one or two."""
    return [word, *(rest for rest in _without_prefixes(word, 3) if rest not in STOPWORDS)]


def _is_hebrew(word: str) -> bool:
    return bool(_HEBREW_WORD.search(word))


def term_forms(raw: str) -> list[str]:
    """The index terms of one raw token (already lower-case); empty for a stop word."""
    raw = _NIQQUD.sub("", raw)
    joined = re.sub(r"[-./]", "", raw)
    if not joined or _is_stopword(joined):
        return []
    if _is_hebrew(joined):
        # "ה-MIDI" also gives "midi": a Latin word without its prefix is stemmed as Latin.
        return [
            form if _is_hebrew(form) or not form.isalpha() else _STEMMER.stemWord(form)
            for form in _hebrew_forms(joined)
        ]
    terms = [_STEMMER.stemWord(joined) if joined.isalpha() else joined]
    parts = re.split(r"[-./]", raw)
    if len(parts) > 1 and all(part.isalpha() and len(part) >= 3 for part in parts):
        terms.extend(_STEMMER.stemWord(part) for part in parts if part not in STOPWORDS)
    return terms


def surface_words(text: str) -> list[tuple[str, str]]:
    """(term, word as printed, lower-case) of the plain words of a text: the vocabulary a
    question in another language is bridged to. Numbers, codes and short scraps are left out."""
    found: list[tuple[str, str]] = []
    for raw in _TOKEN.findall(text.lower()):
        if len(raw) >= 3 and raw.isalpha() and not _is_hebrew(raw) and raw not in STOPWORDS:
            found.append((_STEMMER.stemWord(raw), raw))
    return found


def tokens(text: str) -> list[str]:
    """Terms of a text: lower-case, stemmed English, Hebrew with its prefix-less forms."""
    terms: list[str] = []
    for raw in _TOKEN.findall(text.lower()):
        terms.extend(term_forms(raw))
    return terms


# --- Product names as customers write them -------------------------------------------------

_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
_MARK = re.compile(r"^(?:mk|mark)(i{1,3}|iv|vi?|\d+)?$")
_PIECE = re.compile(r"[a-z]+|\d+|[\u05d0-\u05ea]+")


def name_pieces(raw: str) -> list[str]:
    """A token cut where letters meet digits, with "MkII", "mk 2" and "Mark II" made "mk 2"."""
    pieces: list[str] = []
    for piece in _PIECE.findall(raw.lower()):
        mark = _MARK.match(piece)
        if mark:
            pieces.append("mk")
            if mark.group(1):
                pieces.append(_ROMAN.get(mark.group(1), mark.group(1)))
        elif pieces and pieces[-1] == "mk" and piece in _ROMAN:
            pieces.append(_ROMAN[piece])
        else:
            pieces.append(piece)
    return pieces


def product_name_pieces(names: Iterable[str]) -> frozenset[str]:
    """Every piece of the product's names (model name, brand, catalog id, aliases)."""
    found: set[str] = set()
    for name in names:
        for raw in _TOKEN.findall(name.lower()):
            found.update(name_pieces(raw))
    return frozenset(found)


def allowed_edits(word: str) -> int:
    """How many slips a typed word may hold and still be read as another word: one per
    LETTERS_PER_EDIT letters, at most MAX_EDITS ("diffrent", "ocatves", "marbels": a swap of
    two letters is one edit, as rapidfuzz's OSA distance counts it)."""
    return min(MAX_EDITS, len(word) // LETTERS_PER_EDIT)


def _misspells(raw: str, pieces: frozenset[str]) -> bool:
    """`raw` is a name's word typed with a slip ("marbels" for Marbles), not a word of its
    own ("beats" is not Beads)."""
    edits = allowed_edits(raw)
    if not edits or not raw.isalpha() or is_common_word(raw, "en"):
        return False
    return any(
        len(piece) >= LETTERS_PER_EDIT and OSA.distance(raw, piece, score_cutoff=edits) <= edits
        for piece in pieces
    )


def _naming_tokens(raws: list[str], pieces: frozenset[str]) -> set[int]:
    """Positions of the question tokens that name the product.

    A bare number names the product only next to a word that does ("katana 50", "mk 2"), so
    "can I save 2 sounds" keeps its 2 even for a MkII.
    """
    if not pieces:
        return set()
    # The name in Hebrew letters, as it sounds ("בפלייטס" for Plaits).
    sounds = SoundMap(pieces) if any(map(_is_hebrew, raws)) else None
    naming: set[int] = set()
    for position, raw in enumerate(raws):
        # Hebrew glues its prefix letters to a name as to any word ("לN32B", "ב-Katana").
        named = not raw.isdigit() and any(
            own and all(piece in pieces for piece in own)
            for own in map(name_pieces, _hebrew_forms(re.sub(r"[-./]", "", raw)))
        )
        if (
            named
            or (sounds is not None and sounds.word_for(raw) is not None)
            or _misspells(raw, pieces)
        ):
            naming.add(position)
    for position, raw in enumerate(raws):
        if raw.isdigit() and raw in pieces and {position - 1, position + 1} & naming:
            naming.add(position)
    return naming


def query_weights(text: str, *, exclude: Iterable[str] = ()) -> dict[str, float]:
    """Query terms and their weights, without the words that name the product.

    `exclude` holds the product's names (or their tokens): its model name, brand, catalog id.
    Model numbers and error codes (with a digit) and upper-case terms such as MIDI weigh more.
    """
    raws = [_NIQQUD.sub("", raw) for raw in _TOKEN.findall(text)]
    naming = _naming_tokens([raw.lower() for raw in raws], product_name_pieces(exclude))
    weights: dict[str, float] = {}
    for position, raw in enumerate(raws):
        if position in naming:
            continue
        technical = any(ch.isdigit() for ch in raw) or (raw.isupper() and len(raw) >= 2)
        forms = term_forms(raw.lower())
        for rank, term in enumerate(forms):
            weight = _TECHNICAL_WEIGHT if technical else 1.0
            if rank and _is_hebrew(term):
                weight *= _HEBREW_VARIANT_WEIGHT
            weights[term] = max(weights.get(term, 0.0), weight)
    return weights


def without_names(text: str, *, exclude: Iterable[str] = ()) -> str:
    """The text without the words that name the product ("plaits how do i change the model"
    gives "how do i change the model"); the text itself when nothing else is left."""
    found = list(_TOKEN.finditer(text))
    raws = [_NIQQUD.sub("", match.group()).lower() for match in found]
    naming = _naming_tokens(raws, product_name_pieces(exclude))
    if not naming or len(naming) == len(found):
        return text
    kept, start = [], 0
    for position in sorted(naming):
        kept.append(text[start : found[position].start()])
        start = found[position].end()
    kept.append(text[start:])
    return " ".join("".join(kept).split())


def hebrew_words(text: str, *, exclude: Iterable[str] = ()) -> list[str]:
    """The question's Hebrew words as written (not stop words, not naming the product), each
    once: what is bridged to the words of an English manual."""
    raws = [_NIQQUD.sub("", raw) for raw in _TOKEN.findall(text)]
    naming = _naming_tokens([raw.lower() for raw in raws], product_name_pieces(exclude))
    words: list[str] = []
    for position, raw in enumerate(raws):
        word = re.sub(r"[-./]", "", raw)
        if (
            position not in naming
            and _is_hebrew(word)
            and word.isalpha()
            and not _is_stopword(word)
            and word not in words
        ):
            words.append(word)
    return words


def detect_language(text: str) -> str:
    """ "he" when Hebrew letters make up at least a third of the letters, else "en".

    The script of the letters is an honest rule for the two languages we serve; a question
    in Hebrew often carries English model names and terms, hence a third, not a majority.
    """
    hebrew = len(re.findall(rf"[{_HEBREW_LETTERS}]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "he" if hebrew and hebrew * 2 >= latin else "en"
