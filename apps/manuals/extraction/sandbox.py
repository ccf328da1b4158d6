"""Runs the extraction child and turns what it says into pages or a readable refusal.

The child is a fresh interpreter (not a fork of a worker holding database connections) that
limits its own memory and CPU; the wall clock is enforced here, by killing it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from apps.manuals.extraction.limits import ExtractLimits

_ROOT = Path(__file__).resolve().parents[3]
_END = object()


@dataclass(frozen=True)
class Page:
    number: int
    title: str
    text: str


class ExtractionError(Exception):
    """The document could not be read; `reason` is a sentence a customer can read."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _reason(code: str, *, pages: int | None, limits: ExtractLimits) -> str:
    reasons = {
        "password": "The manual is password-protected, so it cannot be read.",
        "damaged": "The manual's file is damaged or incomplete and could not be read.",
        "too_many_pages": f"The manual has {pages} pages, more than the {limits.max_pages} "
        "we can read.",
        "too_much_text": "The manual has more text than we can read.",
        "no_text": "The manual has no text we can read (it may contain only scanned images).",
        "memory": "Reading the manual needed too much memory, so it was stopped.",
        "timeout": "Reading the manual took too long, so it was stopped.",
        "crashed": "The manual's file could not be read: the reader stopped on it.",
    }
    return reasons.get(code, reasons["damaged"])


def extract_document(
    path: Path,
    *,
    kind: str,
    limits: ExtractLimits,
    on_progress: Callable[[int, int], None] | None = None,
    progress_steps: int = 20,
) -> list[Page]:
    """Every page's text, or ExtractionError; `on_progress(done, total)` about
    `progress_steps` times along the way."""
    args = {"kind": kind, "path": str(path), **limits.as_dict()}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    process = subprocess.Popen(
        [sys.executable, "-s", "-m", "apps.manuals.extraction.child", json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=_ROOT,
        env=env,
    )
    try:
        return _collect(process, limits, on_progress, progress_steps)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _collect(
    process: subprocess.Popen[bytes],
    limits: ExtractLimits,
    on_progress: Callable[[int, int], None] | None,
    progress_steps: int,
) -> list[Page]:
    assert process.stdout is not None
    # Unbounded: the child's text cap bounds it, and a full queue would strand the reader.
    frames: queue.Queue[Any] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, frames), daemon=True)
    reader.start()
    deadline = time.monotonic() + limits.wall_seconds
    pages: list[Page] = []
    total = 0
    every = 1
    while True:
        try:
            line = frames.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            reason = _reason("timeout", pages=None, limits=limits)
            raise ExtractionError(reason, code="timeout") from None
        if line is _END:
            break
        frame = json.loads(line)
        if "total" in frame:
            total = int(frame["total"])
            every = max(1, total // max(1, progress_steps))
        elif "error" in frame:
            code = str(frame["error"])
            raise ExtractionError(_reason(code, pages=frame.get("pages"), limits=limits), code=code)
        elif frame.get("done"):
            if len(pages) != total:
                break
            return pages
        else:
            pages.append(Page(number=len(pages) + 1, title=frame["title"], text=frame["text"]))
            if on_progress is not None and len(pages) % every == 0 and len(pages) < total:
                on_progress(len(pages), total)
    # The child ended without saying "done": a limit killed it or the parser crashed.
    returncode = process.wait()
    code = "timeout" if returncode == -signal.SIGXCPU else "crashed"
    raise ExtractionError(_reason(code, pages=None, limits=limits), code=code)


def _read_lines(stream: IO[bytes], frames: queue.Queue[Any]) -> None:
    try:
        for line in stream:
            frames.put(line)
    finally:
        frames.put(_END)
