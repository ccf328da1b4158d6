"""Does a link on a vendor page belong to this product, and how sure are we?

Model numbers are compared the way the catalog compares them (apps.products.prediction's
tokens: case, dashes and `mk2`/`MkII` folded away), and joined, so `FP-E50`, `fp e50` and
`fpe50` meet. A model named in a link must not run on into a variant: `RC-505` is not named
by `RC-505MKII`, nor `GP-9` by `GP-9M`, nor `FP-E50` by `FP-E30`. Nothing here fetches or
touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from apps.manuals.discovery.links import LinkPage, PageLink, looks_like_document
from apps.manuals.discovery.words import (
    LANGUAGE_CODES,
    LANGUAGE_NAMES,
    document_kind,
    language_in_url_words,
    language_named,
    not_a_document,
    written_in_hebrew,
)
from apps.products.prediction.normalize import STOPWORDS, coded_tokens

Token = tuple[str, bool]  # (token, part of a model code)
Piece = tuple[Token, ...]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that describe what a product is rather than which one it is: dropped from the end of
# a catalog name ("RD-2000 EX Stage Piano" is documented as "RD-2000 EX").
DESCRIPTORS = _words(
    """digital piano pianos stage keyboard keyboards stand stands bag bags case carrying gig
    headphone headphones monitor monitors effect effects processor guitar guitars bass
    amplifier amp combo pedal pedals synthesizer synth controller mixer interface speaker
    speakers module expander loop station looper machine multi electric electronic acoustic
    portable wireless microphone mic cable adapter footswitch switch expression rhythm
    composer sampler workstation arranger organ drum kit set series shifter poly software
    plugout sound system audio usb midi studio recorder player unit black white red blue green
    pink yellow grey gray silver gold natural sunburst rosewood walnut ebony cherry satin matte
    gloss polished finish color colour edition bundle pack"""
)
# Words that follow a model name in document titles and file names without changing it.
_DOCUMENT_WORDS = _words(
    "om rm qs qsg pg mi owner owners manual manuals user users guide reference parameter midi "
    "quick start pdf doc docs eng ger fre spa ita jpn heb"
)
_FOLLOWING_OK = (
    _DOCUMENT_WORDS
    | (DESCRIPTORS - _words("sound pack bundle set kit edition software system plugout"))
    | STOPWORDS
    | frozenset(LANGUAGE_NAMES)
    | _words(
        "owner manual download documentation document file support implementation sheet "
        "bedienungsanleitung handbuch mode demploi manuale usuario instruction operation "
        "addendum supplement release note notes list chart series serie"
    )
)
_NOT_MODEL = (
    _DOCUMENT_WORDS | frozenset(LANGUAGE_CODES) | _words("v ver version rev vol no page pages")
)
_GLUED_WORD = re.compile(r"(?<=[0-9A-Z])(?=[A-Z][a-z]{2,})")
_GLUED_DESCRIPTOR = re.compile(
    r"(?<=[a-z])(?=(Guitar|Bass|Amplifier|Effects|Keyboard|Piano|Synthesizer|Pedal|Processor)"
    r"(?![a-z]))"
)
# Within a text, these separate one model from the next ("GP-9 / GP-9M").
_TEXT_SEPARATORS = re.compile(r"[/|,;()\[\]·•\u2013\u2014:+&]|\s-\s|\s+and\s+|\s+or\s+")
# Not "_" or "-": vendors join a model and its edition with them ("rd-2000_ex_om_eng.pdf").
_URL_SEPARATORS = re.compile(r"[/.=&?+,;]")


def deglue(text: str) -> str:
    """Split words a scrape glued together: "GX-1BBass Effects" -> "GX-1B Bass Effects"."""
    return _GLUED_DESCRIPTOR.sub(" ", _GLUED_WORD.sub(" ", text))


def text_pieces(text: str) -> tuple[Piece, ...]:
    return tuple(
        piece
        for part in _TEXT_SEPARATORS.split(deglue(text))
        if (piece := tuple(coded_tokens(part)))
    )


def url_pieces(url: str) -> tuple[Piece, ...]:
    """The last path segments and the query, split where file names separate their fields."""
    parts = urlsplit(url)
    segments = [s for s in unquote(parts.path).split("/") if s][-3:]
    text = " ".join([*segments, unquote(parts.query)])
    return tuple(
        piece for part in _URL_SEPARATORS.split(text) if (piece := tuple(coded_tokens(part)))
    )


def _is_variant(token: str) -> bool:
    """After a model's name, anything but a document's or a language's words, or a plain
    description, is the name going on into another model ("RC-505" in "RC-505MKII")."""
    return token.isascii() and token not in _FOLLOWING_OK and token not in LANGUAGE_CODES


def _runs(piece: Piece, target: str) -> Iterable[int]:
    """End positions (exclusive) of runs of whole tokens in `piece` that spell `target`."""
    words = [token for token, _code in piece]
    for start in range(len(words)):
        spelled = ""
        for end in range(start, len(words)):
            spelled += words[end]
            if spelled == target:
                yield end + 1
                break
            if len(spelled) >= len(target) or not target.startswith(spelled):
                break


@dataclass(frozen=True)
class Signature:
    tokens: tuple[Token, ...]

    @property
    def spelled(self) -> str:
        return "".join(token for token, _ in self.tokens)

    @property
    def stem(self) -> str:
        """The signature without its last token, when that stem is itself a model code."""
        head = self.tokens[:-1]
        if len(head) < 2 or not all(code for _, code in head):
            return ""
        return "".join(token for token, _ in head)

    @property
    def last(self) -> str:
        return self.tokens[-1][0]

    @property
    def code_part(self) -> str:
        """The model code alone ("GS-1" of "EURUS GS-1"), when the name has more than that."""
        codes = [token for token, code in self.tokens if code]
        if len(codes) == len(self.tokens) or len(codes) < 2:
            return ""
        if not any(t.isdigit() for t in codes) or not any(t.isalpha() for t in codes):
            return ""
        return "".join(codes)

    def named_in(self, pieces: Sequence[Piece]) -> bool:
        """Some piece spells the signature, not running on into a variant."""
        for piece in pieces:
            for end in _runs(piece, self.spelled):
                if end == len(piece) or not _is_variant(piece[end][0]):
                    return True
        return False

    def look_alike_in(self, pieces: Sequence[Piece]) -> bool:
        """Some piece names the same model stem with another ending (FP-E30 for FP-E50)."""
        stem = self.stem
        if not stem:
            return False
        for piece in pieces:
            for end in _runs(piece, stem):
                following = piece[end][0] if end < len(piece) else ""
                if following != self.last:
                    return True
        return False

    def code_named_in(self, pieces: Sequence[Piece]) -> bool:
        code = self.code_part
        if not code:
            return False
        for piece in pieces:
            for end in _runs(piece, code):
                if end == len(piece) or not _is_variant(piece[end][0]):
                    return True
        return False


def _signature(text: str, drop: frozenset[str]) -> Signature | None:
    tokens = [token for token in coded_tokens(deglue(text))]
    while tokens and tokens[0][0] in drop:
        tokens.pop(0)
    for position, (token, _code) in enumerate(tokens):
        if token in {"with", "without", "w", "incl", "including"} and position > 0:
            tokens = tokens[:position]
            break
    while len(tokens) > 1 and not tokens[-1][1] and tokens[-1][0] in DESCRIPTORS:
        tokens.pop()
    if not tokens:
        return None
    if len(tokens) == 1 and len(tokens[0][0]) < 3:
        return None  # "X" alone would name half the links of a page
    return Signature(tuple(tokens))


@dataclass(frozen=True)
class ProductKey:
    """What names one product in a vendor's links: its name, its catalog id, its aliases."""

    pk: int
    name: str
    signatures: tuple[Signature, ...]

    @classmethod
    def build(
        cls,
        *,
        pk: int,
        name: str,
        catalog_id: str,
        brand_name: str,
        brand_slug: str,
        aliases: Iterable[str] = (),
    ) -> ProductKey:
        drop = frozenset(
            token for text in (brand_name, brand_slug) for token, _ in coded_tokens(text)
        )
        found: dict[str, Signature] = {}
        for text in (name, catalog_id.replace("_", " "), *aliases):
            signature = _signature(text, drop)
            if signature is not None:
                found.setdefault(signature.spelled, signature)
        return cls(pk=pk, name=name, signatures=tuple(found.values()))

    def named_in(self, pieces: Sequence[Piece]) -> bool:
        return any(s.named_in(pieces) for s in self.signatures)

    def look_alike_in(self, pieces: Sequence[Piece]) -> bool:
        return not self.named_in(pieces) and any(s.look_alike_in(pieces) for s in self.signatures)

    def code_named_in(self, pieces: Sequence[Piece]) -> bool:
        return any(s.code_named_in(pieces) for s in self.signatures)

    def foreign_code_in(self, pieces: Sequence[Piece]) -> str:
        """A model code in `pieces` that is no part of this product's names ("TR-606")."""
        for code in model_codes(pieces):
            if not any(code in signature.spelled for signature in self.signatures):
                return code
        return ""


def model_codes(pieces: Sequence[Piece]) -> list[str]:
    """Runs of code tokens with letters and digits that look like a model ("tr606")."""
    found = []
    for piece in pieces:
        run: list[str] = []
        for token, code in (*piece, ("", False)):
            if code and token:
                run.append(token)
                continue
            letters = [t for t in run if t.isalpha() and len(t) >= 2 and t not in _NOT_MODEL]
            if letters and any(t.isdigit() for t in run):
                found.append("".join(run))
            run = []
    return found


# --- Judging one link for one product -------------------------------------------------------

AUTOMATIC = 0.8  # at or above: attached without a person looking
REVIEW = 0.4  # at or above (and below AUTOMATIC): waits in the review queue


@dataclass(frozen=True)
class LinkFields:
    """A link's words, split into pieces once per page, shared by every product judged."""

    link: PageLink
    text: tuple[Piece, ...]
    url: tuple[Piece, ...]
    row: tuple[Piece, ...]
    heading: tuple[Piece, ...]

    @classmethod
    def of(cls, link: PageLink) -> LinkFields:
        return cls(
            link=link,
            text=text_pieces(link.text),
            url=url_pieces(link.url),
            row=text_pieces(link.row),
            heading=text_pieces(link.heading),
        )


@dataclass
class Judgement:
    link: PageLink
    page_url: str = ""
    model: float = 0.0
    kind: str = ""
    language: str = ""
    document: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(self.model * (1.0 if self.kind else 0.85), 3)

    @property
    def automatic(self) -> bool:
        return self.document and self.model >= AUTOMATIC and self.score >= AUTOMATIC

    @property
    def reviewable(self) -> bool:
        return self.document and self.score >= REVIEW


def judge(
    key: ProductKey,
    fields: LinkFields,
    *,
    others: Sequence[ProductKey],
    page: LinkPage,
    page_is_theirs: bool,
) -> Judgement:
    """How surely `fields.link` is a document of the product `key`.

    `others` are the other products looked for on this page: a row that names two of them
    proves nothing about either. `page_is_theirs`: the page itself is this product's (its
    title names it, or a link naming it led here).
    """
    link = fields.link
    verdict = Judgement(link=link, page_url=page.url)
    own = (*fields.text, *fields.url)
    if key.named_in(own):
        verdict.model = 1.0
        verdict.reasons.append(f"the link names {key.name}")
    elif key.look_alike_in(own) or any(other.named_in(own) for other in others):
        verdict.reasons.append("the link names another model")
        return verdict
    else:
        foreign = key.foreign_code_in(own)
        for pieces, weight, where in (
            (fields.row, 0.9, "its row"),
            (fields.heading, 0.85, "the heading above it"),
        ):
            if not key.named_in(pieces):
                continue
            if key.look_alike_in(pieces) or any(other.named_in(pieces) for other in others):
                verdict.model = 0.5
                verdict.reasons.append(f"{where} names {key.name} and other models")
            elif foreign:
                verdict.model = 0.5
                verdict.reasons.append(f"{where} names {key.name} but the link names {foreign}")
            else:
                verdict.model = weight
                verdict.reasons.append(f"{where} names {key.name}")
            break
        else:
            if page_is_theirs and foreign:
                verdict.model = 0.5
                verdict.reasons.append(f"it is on {key.name}'s page but names {foreign}")
            elif page_is_theirs:
                verdict.model = 0.8 if link.in_downloads else 0.6
                verdict.reasons.append(
                    f"it is on {key.name}'s own page"
                    + (" in its downloads" if link.in_downloads else "")
                )
            elif key.code_named_in((*own, *fields.row)):
                verdict.model = 0.5
                verdict.reasons.append(f"it names the model code but not all of {key.name}")
            else:
                return verdict
    verdict.document = looks_like_document(link) or bool(document_kind(link.text))
    if link.extension != "pdf" and not_a_document(f"{link.text} {link.url}"):
        verdict.document = False
        verdict.reasons.append("it is software or firmware, not a document")
        return verdict
    url_words = [token for piece in fields.url for token, _ in piece]
    verdict.kind = document_kind(link.text, " ".join(url_words), link.cell, link.heading)
    if verdict.kind:
        verdict.reasons.append(f"it is a {verdict.kind.replace('_', ' ')}")
    verdict.language = (
        language_named(link.text)
        or link.hreflang
        or language_in_url_words(url_words)
        or language_named(link.cell)
        or ("he" if written_in_hebrew(link.text) else "")
        or page.language
        or "en"
    )
    return verdict


def page_is_about(key: ProductKey, page: LinkPage, others: Sequence[ProductKey]) -> bool:
    """The page's title names this product and none of the others looked for on it."""
    subject = text_pieces(page.subject)
    if not key.named_in(subject):
        return False
    return not any(other.named_in(subject) for other in others)
