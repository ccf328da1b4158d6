"""The links of a vendor's HTML page, each with the words around it.

A support index names the model in the row or under the heading a link sits in, not always
in the link ("Owner's Manual" in the row of the FP-E50), and a product page names it only in
its title; so every link keeps its row, its nearest heading and whether it sits in a
downloads section, and the page keeps its subject. Nothing here fetches or touches the
database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
from lxml import etree

# A page is read only this far: a real support index has a few thousand links at most.
MAX_LINKS = 5000
_ROW_TAGS = frozenset({"tr", "li", "dt", "dd", "article"})
_ROW_CLASS = re.compile(r"\b(row|item|card|entry)\b|-(row|item|card|entry)\b", re.IGNORECASE)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# A container longer than this is a list of many models, not one model's row.
_MAX_ROW_CHARS = 800
_DOWNLOAD_WORDS = re.compile(
    r"download|manual|document|support|literature|הורד|מדריכ|תיעוד|חוברות", re.IGNORECASE
)
_SPACE = re.compile(r"\s+")
_DECLARED_CHARSET = re.compile(rb"<meta[^>]+charset", re.IGNORECASE)
# Extensions of files that are never documents to read.
NOT_DOCUMENTS = frozenset(
    {
        "zip", "exe", "dmg", "pkg", "msi", "rar", "7z", "gz", "tar", "iso", "bin", "syx",
        "mid", "midi", "apk", "jpg", "jpeg", "png", "gif", "svg", "webp", "mp3", "wav", "mp4",
        "mov", "css", "js", "xml", "json",
    }
)  # fmt: skip


@dataclass(frozen=True)
class PageLink:
    url: str
    text: str
    row: str
    cell: str
    heading: str
    in_downloads: bool
    hreflang: str = ""

    @property
    def extension(self) -> str:
        name = urlsplit(self.url).path.rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[-1].lower() if "." in name else ""

    @property
    def url_words(self) -> str:
        """The path and query of the URL as words: where vendors put model and language."""
        parts = urlsplit(self.url)
        return _SPACE.sub(" ", re.sub(r"[/_.=&?+%-]", " ", unquote(parts.path + " " + parts.query)))


@dataclass(frozen=True)
class LinkPage:
    url: str
    subject: str
    language: str
    links: tuple[PageLink, ...]
    text_chars: int

    def document_links(self) -> list[PageLink]:
        """Links that look like documents: a PDF by its name, or a document by its words."""
        return [link for link in self.links if looks_like_document(link)]


def looks_like_document(link: PageLink) -> bool:
    if link.extension == "pdf":
        return True
    if link.extension in NOT_DOCUMENTS:
        return False
    return bool(re.search(r"\bpdf\b", f"{link.text} {link.cell}", re.IGNORECASE))


def _parser(body: bytes) -> lxml.html.HTMLParser | None:
    """UTF-8 unless the page declares its encoding: lxml alone would guess Latin-1, and
    Hebrew link text would come out as mojibake. (The fetcher keeps no response headers.)"""
    if _DECLARED_CHARSET.search(body[:4096]):
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return lxml.html.HTMLParser(encoding="utf-8")


def _text(element: etree._Element) -> str:
    return _SPACE.sub(" ", element.text_content()).strip()


def parse_page(body: bytes, *, url: str) -> LinkPage:
    """The page at `url` (as fetched: raw bytes, any declared encoding) and its links."""
    try:
        doc = lxml.html.document_fromstring(body, parser=_parser(body))
    except (etree.ParserError, ValueError):
        return LinkPage(url=url, subject="", language="", links=(), text_chars=0)
    for junk in doc.xpath("//script|//style|//noscript|//template"):
        junk.drop_tree()
    title = " ".join(_text(t) for t in doc.xpath("//title")[:1])
    h1 = " ".join(_text(h) for h in doc.xpath("//h1")[:2])
    language = (doc.get("lang") or "").split("-")[0].lower()[:8]
    base = doc.xpath("//base/@href")
    base_url = urljoin(url, base[0]) if base else url
    links: list[PageLink] = []
    seen: dict[str, int] = {}
    heading = ""
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in _HEADINGS:
            heading = _text(element)
            continue
        if element.tag != "a" or not element.get("href"):
            continue
        href = element.get("href", "").strip()
        if href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        absolute = urljoin(base_url, href).split("#", 1)[0]
        if not absolute.startswith(("http://", "https://")):
            continue
        labels = (_text(element), element.get("title", ""), element.get("aria-label", ""))
        text = " ".join(part for part in labels if part)
        link = PageLink(
            url=absolute,
            text=text[:500],
            row=_row(element),
            cell=_cell(element),
            heading=heading[:300],
            in_downloads=_in_downloads(element, heading),
            hreflang=(element.get("hreflang") or "").split("-")[0].lower()[:8],
        )
        # One document is often linked twice (an icon and its name): keep the wordier one.
        if absolute in seen:
            kept = links[seen[absolute]]
            if len(link.text) > len(kept.text):
                links[seen[absolute]] = link
            continue
        seen[absolute] = len(links)
        links.append(link)
        if len(links) >= MAX_LINKS:
            break
    body_text = doc.xpath("//body")
    text_chars = len(_text(body_text[0])) if body_text else 0
    return LinkPage(
        url=url,
        subject=f"{title} {h1}".strip()[:600],
        language=language,
        links=tuple(links),
        text_chars=text_chars,
    )


def _row(element: etree._Element) -> str:
    """The text of the rows the link sits in: its list item, and the table row or card
    around that (a support index puts the model in the row and "Owner's Manual" in the link),
    up to the first container long enough to hold several models."""
    texts: list[str] = []
    node = element.getparent()
    for _ in range(8):
        if node is None or node.tag in {"table", "body", "html"}:
            break
        text = _text(node)
        if len(text) > _MAX_ROW_CHARS:
            break
        row_like = node.tag in _ROW_TAGS or _ROW_CLASS.search(node.get("class", ""))
        if row_like and text not in texts:
            texts.append(text)
        node = node.getparent()
    return " | ".join(texts)


def _cell(element: etree._Element) -> str:
    """The text of the table cell or list item the link is in, for its language and kind."""
    node = element.getparent()
    for _ in range(3):
        if node is None:
            break
        if node.tag in {"td", "th", "li", "dd"}:
            text = _text(node)
            return text if len(text) <= 200 else ""
        node = node.getparent()
    return ""


def _in_downloads(element: etree._Element, heading: str) -> bool:
    if _DOWNLOAD_WORDS.search(heading):
        return True
    node = element.getparent()
    while node is not None:
        marker = " ".join(node.get(name, "") for name in ("id", "class", "aria-label", "data-tab"))
        if marker.strip() and _DOWNLOAD_WORDS.search(marker):
            return True
        node = node.getparent()
    return False


def is_link_page(page: LinkPage) -> bool:
    """A page of links to documents rather than a manual written as a web page.

    An HTML manual is mostly text, with perhaps a link to its PDF version; an index or a
    product page is mostly links to documents.
    """
    documents = len(page.document_links())
    if documents == 0:
        return False
    return documents >= 5 or page.text_chars < 3000 * documents
