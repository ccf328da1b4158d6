"""A manual's text as units that know their structure: headings, steps, rows, callouts.

pypdfium2 gives each page's text in reading order (checked on the two-column Mutable
Instruments manuals and the N32B tables: columns come one after the other, a table row is
one line). What it does not give is structure, so it is recovered from the lines:

- a short line without end punctuation, followed by prose, is a heading; it titles every
  unit up to the next heading (two headings in a row make one title, "Front panel — Controls");
- "1. ..." and "A. ..." items and bullets are kept whole with their label (a panel callout
  "B. Coarse frequency control. By default..." stays one unit), numbered ones are steps;
- a run of short unpunctuated lines after a heading is a table: each row is a unit and
  remembers the table's header row;
- page furniture: lines repeated on most pages, bare page numbers, runs of one- or
  two-letter lines (rotated table-of-contents text, diagram labels), contents lines on the
  first pages ("Initial Setup 3 Connecting to Your Device 3") and a cover that gives only the
  title are dropped, and text repeated across the manual (boilerplate) or in safety sections
  is marked so ranking weighs it down.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

HEADING = "heading"
STEP = "step"
ITEM = "item"  # a lettered callout or a bullet
ROW = "row"
SENTENCE = "sentence"

_DIGITS = re.compile(r"\d+")
# Two letters in a row: the least of a word. A short run of letters and digits without them
# ("657M") is markers, not text; with spaces or signs ("C0 +/- 7", "1/16") it is a table's.
_WORD = re.compile(r"[^\W\d_]{2}")
_MAX_MARKERS = 6
_STEP = re.compile(r"^\d{1,2}\.\s+\S")
_LABEL = re.compile(r"^(?:(?:[A-Z]|\d{1,2})\.\s*)+(?=[A-Z(\"“])")
_LETTER_ITEM = re.compile(r"^[A-Z]\.\s*(?:[A-Z]\.\s*)*(?=[A-Z(\"“])")
_BULLET = re.compile(r"^[•●▪◦■□\-–*]\s*")  # noqa: RUF001 - the en dash is a bullet
# A table-of-contents line: two or more titles, each followed by its page number; looked for
# on the first pages only, where contents are (a table row elsewhere can read the same).
_CONTENTS_PAGES = 3
_CONTENTS = re.compile(r"(?:\d{1,3}\s+)?(?:[A-Z][\w'&/-]*(?:\s+[\w'&/-]+){0,6}\s+\d{1,3}\s*){2,}")
# A cover page of a longer document: a few words, no sentence.
_COVER_WORDS = 8
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]”\"][.!?])\s+(?=[A-Z(“\"])")
_END_PUNCTUATION = (".", ":", "!", "?", ";", ",")
_SAFETY = re.compile(r"safety|precaution|caution|warning|important notice", re.IGNORECASE)
# Regulatory notices (EMC or FCC rules, conformity, disposal under WEEE). Not "compliant":
# a class-compliant USB device is a feature customers ask about.
_REGULATORY = re.compile(
    r"\b(?:directives?|fcc|emc|weee|rohs|declaration of conformity)\b", re.IGNORECASE
)
_MAX_HEADING_WORDS = 9
_MAX_ITEM_WORDS = 90
# A line starting with one of these goes on with the sentence of the line before it: pdfium
# puts a label the manual prints in another font ("X1", "t2") on a line of its own, and
# the punctuation after it at the start of the next.
_GOES_ON = ",.;)"
_MAX_ROW_WORDS = 14
# Hyphenation marks pdfium leaves where a word was broken at the end of a line.
_SOFT_HYPHENS = ("\ufffe", "\u00ad", "\u2010\n")
# A printed pointer to the next page ("(>continues on next page)", "continued overleaf"):
# the reader's, not part of the sentence it ends.
_CONTINUED = re.compile(
    r"[ \t]*\(?\s*[>→]?\s*(?:continue[sd]?|cont\.)\s+"
    r"(?:on\s+(?:the\s+)?next\s+page|overleaf)\s*\)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unit:
    """A sentence, step, item, table row or heading, with the page(s) it is printed on."""

    text: str
    pages: tuple[int, ...]
    kind: str = SENTENCE
    section: int = -1  # index of the heading unit that titles it; -1 before the first
    label: int = -1  # for a table row: index of its header row
    boilerplate: bool = False

    @property
    def is_step(self) -> bool:
        return self.kind == STEP


def _normalised_line(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()))


def _clean(text: str) -> str:
    for mark in _SOFT_HYPHENS:
        text = text.replace(mark, "")
    return _CONTINUED.sub("", text)


def _furniture(pages: Sequence[tuple[int, str]]) -> set[str]:
    """Lines repeated on most pages (running headers, footers): noise for ranking."""
    if len(pages) < 4:
        return set()
    seen: Counter[str] = Counter()
    for _, text in pages:
        seen.update({_normalised_line(line) for line in text.splitlines()})
    return {line for line, count in seen.items() if line and count >= 0.6 * len(pages)}


def _is_scrap(line: str) -> bool:
    """A line too short to mean anything alone: a diagram label, a letter of rotated text,
    the callout markers of a panel drawing run together ("657M" for 6, 5, 7 and M)."""
    letters = sum(ch.isalnum() for ch in line)
    return (
        letters <= 2
        or _DIGITS.fullmatch(line.replace(" ", "")) is not None
        or (line.isalnum() and letters <= _MAX_MARKERS and _WORD.search(line) is None)
    )


def _inside_sentence(page_lines: list[str], position: int) -> bool:
    """A short line in the middle of a sentence is a word of it ("...not externally clocked,"
    / "X1" / ", X2" / "and X3 are rhythmically independent"), not a diagram label: the line
    before it ends on a comma, or the line after it goes on with punctuation or a small
    letter."""
    line = page_lines[position]
    before = page_lines[position - 1] if position else ""
    after = page_lines[position + 1] if position + 1 < len(page_lines) else ""
    goes_on = bool(after) and (after[0] in _GOES_ON or after[0].islower())
    return any(ch.isalpha() for ch in line) and (before.endswith(",") or goes_on)


def _is_cover(page_lines: list[str], page_count: int) -> bool:
    words = " ".join(page_lines)
    return (
        page_count >= 3
        and len(words.split()) <= _COVER_WORDS
        and not any(mark in words for mark in ".:?!")
    )


def _lines(pages: Sequence[tuple[int, str]]) -> list[tuple[str, int]]:
    furniture = _furniture(pages)
    lines: list[tuple[str, int]] = []
    for position_of_page, (number, text) in enumerate(pages):
        page_lines = [" ".join(line.split()) for line in _clean(text).splitlines()]
        page_lines = [line for line in page_lines if line]
        if position_of_page == 0 and _is_cover(page_lines, len(pages)):
            continue  # the title answers nothing
        # Rotated text comes out a few letters a line: a run of such lines is one scrap,
        # with the lower-case word pieces between them ("tio", "rvicin").
        short = [len(line) <= 4 for line in page_lines]
        for position, line in enumerate(page_lines):
            in_run = sum(short[max(0, position - 3) : position + 4]) >= 4 and (
                short[position] or (len(line) <= 7 and line.isalpha() and line.islower())
            )
            if (
                in_run
                or (_is_scrap(line) and not _inside_sentence(page_lines, position))
                or _normalised_line(line) in furniture
                or (position_of_page < _CONTENTS_PAGES and _CONTENTS.fullmatch(line))
            ):
                continue
            lines.append((line, number))
    return lines


def _starts_item(line: str) -> bool:
    return bool(_STEP.match(line) or _LABEL.match(line) or _BULLET.match(line))


def _blocks(pages: Sequence[tuple[int, str]]) -> list[tuple[str, list[int]]]:
    """Wrapped lines joined back (also across a page break) into paragraphs and items."""
    blocks: list[tuple[str, list[int]]] = []
    for line, number in _lines(pages):
        if blocks:
            previous, numbers = blocks[-1]
            open_sentence = not previous.endswith(_END_PUNCTUATION)
            # A line starting with a capital continues a long line that broke mid-phrase
            # ("...the response of the" / "LPG, from VCFA to VCA."), not a table row.
            continues = (
                line[0].islower()
                or line[0] in _GOES_ON
                or (previous.endswith(",") and len(line.split()) <= 2)
                or (
                    not _starts_item(line)
                    and len(line.split()) > 2
                    and (previous[-1].islower() or previous[-1] == ",")
                    and (len(previous) >= 60 or (_starts_item(previous) and len(previous) >= 40))
                )
            )
            # A semicolon ends no sentence: "...(t enabled, X disabled);" / "or cycle ...".
            if (open_sentence or previous.endswith((",", ";"))) and continues:
                joined = f"{previous}{line}" if line[0] in _GOES_ON else f"{previous} {line}"
                blocks[-1] = (joined, [*numbers, number])
                continue
        blocks.append((line, [number]))
    return blocks


def _is_label(text: str) -> bool:
    return text.isupper() or any(ch.isdigit() or ch in "↔+/<>=" for ch in text)


def _looks_like_heading(text: str) -> bool:
    words = text.split()
    return (
        1 <= len(words) <= _MAX_HEADING_WORDS
        and not text.endswith(_END_PUNCTUATION)
        and (text[0].isupper() or text[0].isdigit())
        and sum(ch.isalpha() for ch in text) >= 3
        and ":" not in text
        and not _starts_item(text)
    )


def _is_prose(text: str) -> bool:
    return len(text.split()) >= 12 or text.endswith((".", ":", "!", "?"))


def _is_row_text(text: str) -> bool:
    return not text.endswith(_END_PUNCTUATION) and len(text.split()) <= _MAX_ROW_WORDS


def _wrapped_cells(blocks: list[tuple[str, list[int]]]) -> list[tuple[str, list[int]]]:
    """A table row whose first cell wrapped onto lines of its own ("Scorched cassette", then
    "24 kHz 8-bit 32s 16s") joined back: the cell has no digit, the rest of the row starts
    with one where the row before it starts with words, and together they have as many
    words as the row before."""
    out: list[tuple[str, list[int]]] = []
    position = 0
    while position < len(blocks):
        text, numbers = blocks[position]
        if out and position + 1 < len(blocks):
            previous = out[-1][0]
            following, more = blocks[position + 1]
            width = len(previous.split())
            if (
                _is_row_text(previous)
                and _DIGITS.search(previous)
                and not _DIGITS.search(text)
                and _is_row_text(following)
                and following[0].isdigit()
                and not previous[0].isdigit()
                and len(text.split()) + len(following.split()) == width
            ):
                out.append((f"{text} {following}", [*numbers, *more]))
                position += 2
                continue
        out.append((text, numbers))
        position += 1
    return out


def _same_table(kinds: list[str], texts: list[str], position: int) -> bool:
    """The line is another row of the table above it: as many words, with figures in them
    (the last row before a paragraph is not that paragraph's heading)."""
    if not position or kinds[-1] != ROW:
        return False
    text, previous = texts[position], texts[position - 1]
    return (
        _is_row_text(text)
        and bool(_DIGITS.search(text))
        and bool(_DIGITS.search(previous))
        and len(text.split()) == len(previous.split())
    )


def split_units(pages: Sequence[tuple[int, str]]) -> list[Unit]:
    """The manual as units in reading order, each knowing its section and kind."""
    blocks = _wrapped_cells(_blocks(pages))
    texts = [text for text, _ in blocks] + ["", ""]

    def opens_text(text: str) -> bool:
        return _is_prose(text) or _starts_item(text)

    kinds: list[str] = []
    for position, text in enumerate(texts[: len(blocks)]):
        following, after = texts[position + 1], texts[position + 2]
        if _STEP.match(text):
            kinds.append(STEP)
        elif _LETTER_ITEM.match(text) or _BULLET.match(text):
            kinds.append(ITEM)
        elif _same_table(kinds, texts, position):
            kinds.append(ROW)
        elif _looks_like_heading(text) and (
            opens_text(following) or (_looks_like_heading(following) and opens_text(after))
        ):
            # A heading leads into text within two lines; a longer run of short lines
            # ("Save Preset 2 0x02 0010") is a table.
            kinds.append(HEADING)
        elif _is_row_text(text):
            kinds.append(ROW)
        else:
            kinds.append(SENTENCE)
    units: list[Unit] = []
    section = -1
    header = -1
    for (text, numbers), kind in zip(blocks, kinds, strict=True):
        pages_of_block = tuple(sorted(set(numbers)))
        if kind == HEADING:
            if units and units[-1].kind == HEADING and not _is_label(units[-1].text):
                # Two headings in a row: the second refines the first ("Front panel —
                # Controls"); a diagram label ("MORPH", "C0 ↔ C7") titles nothing.
                merged = f"{units[-1].text} — {text}"
                pages_of_heading = tuple(sorted({*units[-1].pages, *pages_of_block}))
                units[-1] = Unit(merged, pages_of_heading, HEADING, section=len(units) - 1)
                continue
            if units and units[-1].kind == HEADING:
                last = units[-1]
                before = units[-2] if len(units) >= 2 else None
                section = before.section if before else -1
                header = before.label if before and before.kind == ROW else len(units) - 1
                units[-1] = Unit(last.text, last.pages, ROW, section, label=header)
            section = len(units)
            header = -1
            units.append(Unit(text, pages_of_block, HEADING, section=section))
            continue
        if kind == ROW:
            if header < 0 or (units and units[-1].kind != ROW):
                header = len(units)
            units.append(Unit(text, pages_of_block, ROW, section=section, label=header))
            continue
        header = -1
        if kind in (STEP, ITEM) and len(text.split()) <= _MAX_ITEM_WORDS:
            units.append(Unit(text, pages_of_block, kind, section=section))
            continue
        # A block spanning two pages keeps both on every sentence of it, which errs on the
        # side of citing the page a reader needs.
        label = _LABEL.match(text)
        sentences = _SENTENCE_END.split(text[label.end() :] if label else text)
        for number, sentence in enumerate(s.strip() for s in sentences if s.strip()):
            if number == 0 and label:
                sentence = label.group(0) + sentence
            unit_kind = kind if number == 0 and kind != SENTENCE else SENTENCE
            units.append(Unit(sentence, pages_of_block, unit_kind, section=section))
    return _mark_boilerplate(units)


def _mark_boilerplate(units: list[Unit]) -> list[Unit]:
    """Flag text repeated across pages (legal and safety notices), safety sections and
    regulatory notices."""
    seen: dict[str, set[int]] = {}
    for unit in units:
        if len(unit.text) >= 40:
            seen.setdefault(_normalised_line(unit.text.lower()), set()).update(unit.pages)
    repeated = {text for text, on_pages in seen.items() if len(on_pages) >= 3}
    marked: list[Unit] = []
    for unit in units:
        heading = units[unit.section].text if unit.section >= 0 else ""
        boilerplate = (
            _normalised_line(unit.text.lower()) in repeated
            or bool(heading and _SAFETY.search(heading))
            or bool(_REGULATORY.search(unit.text))
        )
        if boilerplate != unit.boilerplate:
            unit = Unit(unit.text, unit.pages, unit.kind, unit.section, unit.label, boilerplate)
        marked.append(unit)
    return marked


def section_title(units: Sequence[Unit], unit: Unit) -> str:
    return units[unit.section].text if unit.section >= 0 else ""
