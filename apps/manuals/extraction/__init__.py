"""The document edge: page texts of PDFs and HTML, read in a limited child process.

Nothing here imports Django, so the child starts fast and holds nothing worth stealing.
"""

from __future__ import annotations

from apps.manuals.extraction.limits import ExtractLimits
from apps.manuals.extraction.sandbox import ExtractionError, Page, extract_document

__all__ = ["ExtractLimits", "ExtractionError", "Page", "extract_document"]
