"""An HTML manual's main text, split into sections that stand in for pages.

trafilatura finds the main content and keeps tables and lists; when it returns too little
(pages that are mostly markup it does not recognise), a plain walk over the document's text
takes over. Sections start at headings and are cut to a readable length, so a citation's
"page" is a passage a customer can find.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ENOUGH_TEXT = 200
_SECTION_CHARS = 4000
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_SKIPPED_TAGS = {"script", "style", "noscript", "template", "svg", "head", "nav", "footer"}
_HEADING_TAGS = {"h1", "h2", "h3"}
_BLOCK_TAGS = {"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "pre"}


def html_sections(data: bytes) -> list[tuple[str, str]]:
    """(title, text) per section, in document order."""
    import trafilatura

    markdown = trafilatura.extract(
        data,
        output_format="markdown",
        include_tables=True,
        include_formatting=True,
        include_comments=False,
        include_links=False,
        favor_recall=True,
    )
    if markdown and len(markdown.strip()) >= _ENOUGH_TEXT:
        return _split(_markdown_sections(markdown))
    return _split(_plain_sections(data))


def _markdown_sections(markdown: str) -> list[tuple[str, str]]:
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in markdown.splitlines():
        heading = _HEADING.match(line)
        if heading:
            sections.append((heading.group(1).strip(" #*"), [line]))
        else:
            sections[-1][1].append(line)
    return [(title, "\n".join(lines).strip()) for title, lines in sections]


class _TextWalker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[tuple[str, list[str]]] = [("", [])]
        self._skipping = 0
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _HEADING_TAGS and not self._skipping:
            self._heading = []
        elif tag in _BLOCK_TAGS:
            self.sections[-1][1].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self._skipping:
            self._skipping -= 1
        elif tag in _HEADING_TAGS and self._heading is not None:
            title = " ".join("".join(self._heading).split())
            self.sections.append((title, [title, "\n"]))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._heading is not None:
            self._heading.append(data)
        else:
            self.sections[-1][1].append(data)


def _plain_sections(data: bytes) -> list[tuple[str, str]]:
    walker = _TextWalker()
    walker.feed(_decode(data))
    walker.close()
    sections = []
    for title, parts in walker.sections:
        lines = [" ".join(line.split()) for line in "".join(parts).splitlines()]
        sections.append((title, "\n".join(line for line in lines if line)))
    return sections


def _decode(data: bytes) -> str:
    declared = re.search(rb"""charset=["']?([A-Za-z0-9_.:-]{1,40})""", data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return data.decode("utf-8", errors="replace")


def _split(sections: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop empty sections and cut long ones at paragraph breaks."""
    pages: list[tuple[str, str]] = []
    for title, text in sections:
        chunk = ""
        for paragraph in text.split("\n\n"):
            if chunk and len(chunk) + len(paragraph) > _SECTION_CHARS:
                pages.append((title, chunk.strip()))
                chunk = ""
            while len(paragraph) > _SECTION_CHARS:
                pages.append((title, paragraph[:_SECTION_CHARS]))
                paragraph = paragraph[_SECTION_CHARS:]
            chunk += paragraph + "\n\n"
        if chunk.strip():
            pages.append((title, chunk.strip()))
    return pages
