"""Page texts of a PDF: pypdfium2 first (fast, lenient), pypdf when pdfium cannot open it."""

from __future__ import annotations

from collections.abc import Iterator

from apps.manuals.extraction.limits import Refused

_TOC_ITEMS = 5000


def pdf_pages(path: str, *, max_pages: int) -> tuple[int, Iterator[tuple[str, str]]]:
    """The page count and an iterator of (title, text) per page, in viewer order."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Refused("password") from exc
        return _pypdf_pages(path, max_pages=max_pages)
    total = len(document)
    _check_count(total, max_pages)
    return total, _pdfium_texts(document, total)


def _pdfium_texts(document: object, total: int) -> Iterator[tuple[str, str]]:
    titles = _section_titles(document, total)
    try:
        for index in range(total):
            page = document[index]  # type: ignore[index]
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
            finally:
                textpage.close()
                page.close()
            yield titles[index], text
    finally:
        document.close()  # type: ignore[attr-defined]


def _section_titles(document: object, total: int) -> list[str]:
    """Each page's nearest outline heading at or before it, so a citation can name it."""
    starts: dict[int, str] = {}
    try:
        for count, item in enumerate(document.get_toc()):  # type: ignore[attr-defined]
            if count >= _TOC_ITEMS:
                break
            destination = item.get_dest()
            index = destination.get_index() if destination is not None else None
            if index is not None and 0 <= index < total and index not in starts:
                starts[index] = " ".join((item.get_title() or "").split())[:300]
    except Exception:  # a broken outline costs us titles, not the text
        starts = {}
    titles: list[str] = []
    current = ""
    for index in range(total):
        current = starts.get(index, current)
        titles.append(current)
    return titles


def _pypdf_pages(path: str, *, max_pages: int) -> tuple[int, Iterator[tuple[str, str]]]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Refused("password")
        total = len(reader.pages)
    except FileNotDecryptedError as exc:
        raise Refused("password") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Refused("damaged") from exc
    _check_count(total, max_pages)

    def texts() -> Iterator[tuple[str, str]]:
        for page in reader.pages:
            try:
                yield "", page.extract_text() or ""
            except Exception as exc:  # pypdf raises many kinds on broken content streams
                raise Refused("damaged") from exc

    return total, texts()


def _check_count(total: int, max_pages: int) -> None:
    if total == 0:
        raise Refused("damaged")
    if total > max_pages:
        raise Refused("too_many_pages", pages=total)
