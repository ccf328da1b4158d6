"""The extraction child: `python -m apps.manuals.extraction.child '<json args>'`.

It limits itself before touching the document, then writes one JSON object per line to
stdout: {"total": n}, then {"title", "text"} per page in order, then {"done": true} or
{"error": code, "pages": n}. It imports nothing from Django and gets no secrets: it only
ever sees one untrusted file.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from apps.manuals.extraction.html import html_sections
from apps.manuals.extraction.limits import Refused
from apps.manuals.extraction.pdf import pdf_pages


def _limit_self(args: dict[str, Any]) -> None:
    memory = int(args["memory_mb"]) * 1024 * 1024
    cpu = int(args["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # The soft CPU limit sends SIGXCPU, which the parent reports as "took too long".
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; PDF text uses \r\n and form feeds between runs.
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")


def _preload(kind: str) -> None:
    """Import the readers before the limits apply, so a limit hit means the document's cost."""
    if kind == "pdf":
        import pypdf  # noqa: F401
        import pypdfium2  # noqa: F401
    else:
        import trafilatura  # noqa: F401


def _pages(kind: str, path: str, max_pages: int) -> tuple[int, Iterator[tuple[str, str]]]:
    if kind == "pdf":
        return pdf_pages(path, max_pages=max_pages)
    sections = html_sections(Path(path).read_bytes())
    if len(sections) > max_pages:
        raise Refused("too_many_pages", pages=len(sections))
    return len(sections), iter(sections)


def _emit(out: BinaryIO, frame: dict[str, Any]) -> None:
    out.write(json.dumps(frame).encode("ascii") + b"\n")


def run(args: dict[str, Any], out: BinaryIO) -> None:
    try:
        total, pages = _pages(args["kind"], args["path"], int(args["max_pages"]))
        _emit(out, {"total": total})
        chars = 0
        with_text = 0
        for title, raw in pages:
            text = _clean(raw).strip()
            chars += len(text)
            if chars > int(args["max_text_chars"]):
                raise Refused("too_much_text")
            with_text += bool(text)
            _emit(out, {"title": _clean(title), "text": text})
        if not with_text:
            raise Refused("no_text")
        _emit(out, {"done": True})
    except Refused as exc:
        _emit(out, {"error": exc.code, "pages": exc.pages})
    except MemoryError:
        _emit(out, {"error": "memory"})
    except Exception:  # whatever a hostile file makes a parser raise means "damaged"
        _emit(out, {"error": "damaged"})
    out.flush()


def main() -> None:
    args = json.loads(sys.argv[1])
    _preload(args["kind"])
    _limit_self(args)
    run(args, sys.stdout.buffer)


if __name__ == "__main__":
    main()
