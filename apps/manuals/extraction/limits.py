"""What the extraction child may use, and the ways it refuses a document."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ExtractLimits:
    wall_seconds: float = 180.0
    cpu_seconds: int = 150
    memory_mb: int = 1536
    max_pages: int = 3000
    max_text_chars: int = 20_000_000

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Refused(Exception):
    """The child will not (or cannot) read this document; `code` names why."""

    def __init__(self, code: str, *, pages: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.pages = pages
