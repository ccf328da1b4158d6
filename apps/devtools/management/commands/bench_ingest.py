"""`manage.py bench_ingest FILE_OR_URL [--repeat N]`: the whole manual pipeline against raw
pypdfium2 text extraction of the same file, on this machine.

A file is served from a loopback HTTP server, so the run includes the download, the checks,
storing the original, the sandboxed extraction and writing the pages. Each run uses a fresh
temporary manual (deleted afterwards) and a temporary media folder.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import override_settings

from apps.manuals import services
from apps.manuals.models import Manual

_RAW = """
import json, resource, sys, time
import pypdfium2 as pdfium
started = time.perf_counter()
document = pdfium.PdfDocument(sys.argv[1])
chars = 0
for index in range(len(document)):
    page = document[index]
    textpage = page.get_textpage()
    chars += len(textpage.get_text_range())
    textpage.close()
    page.close()
print(json.dumps({"pages": len(document), "seconds": time.perf_counter() - started,
                  "chars": chars, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Command(BaseCommand):
    help = "Measure manual ingestion (pages/s, peak memory) against raw pypdfium2 extraction."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="a PDF file (served on loopback) or an http(s) URL")
        parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians shown")

    def handle(self, *args: Any, **options: Any) -> None:
        source: str = options["source"]
        repeat = max(1, options["repeat"])
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as media:
            with override_settings(MEDIA_ROOT=media, MANUAL_FETCH_ALLOWED_HOSTS=["127.0.0.1:*"]):
                if source.startswith(("http://", "https://")):
                    runs = [self.run_pipeline(source) for _ in range(repeat)]
                else:
                    runs = self.serve_and_run(Path(source), repeat)
            raw = [self.run_raw(runs[-1]["stored"]) for _ in range(repeat)]
        self.report(runs, raw)

    def serve_and_run(self, path: Path, repeat: int) -> list[dict[str, Any]]:
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        handler = partial(_Quiet, directory=str(path.parent.resolve()))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/{quote(path.name)}"
            return [self.run_pipeline(url) for _ in range(repeat)]
        finally:
            server.shutdown()
            server.server_close()

    def run_pipeline(self, url: str) -> dict[str, Any]:
        Manual.objects.filter(source_url=url).delete()
        manual = Manual.objects.create(source_url=url, title="bench_ingest (temporary)")
        try:
            started = time.perf_counter()
            manual = services.ingest_manual(manual_id=manual.pk)
            seconds = time.perf_counter() - started
            if manual.status != Manual.Status.READY:
                raise CommandError(f"the pipeline failed: {manual.error}")
            stored = Path(tempfile.mkstemp(suffix=".pdf")[1])
            with manual.stored_file.open("rb") as original:
                stored.write_bytes(original.read())
            return {
                "pages": manual.page_count,
                "bytes": manual.size_bytes,
                "seconds": seconds,
                "stored": stored,
                "child_peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            }
        finally:
            manual.delete()

    def run_raw(self, path: Path) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-c", _RAW, str(path)], capture_output=True, check=True, text=True
        )
        return json.loads(result.stdout)

    def report(self, runs: list[dict[str, Any]], raw: list[dict[str, Any]]) -> None:
        pages = runs[0]["pages"]
        pipeline_s = statistics.median(run["seconds"] for run in runs)
        raw_s = statistics.median(run["seconds"] for run in raw)
        own_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lines = [
            f"document: {pages} pages, {runs[0]['bytes'] / 1e6:.1f} MB; {len(runs)} runs each",
            f"pipeline (fetch + store + sandboxed extraction + page rows): {pipeline_s:.2f} s, "
            f"{pages / pipeline_s:.0f} pages/s",
            f"raw pypdfium2 text extraction: {raw_s:.2f} s, {pages / raw_s:.0f} pages/s",
            f"pipeline speed / raw speed: {raw_s / pipeline_s:.2f} (target >= 0.50)",
            f"peak RSS: extraction child {runs[-1]['child_peak_kb'] / 1024:.0f} MB, "
            f"this process {own_peak_kb / 1024:.0f} MB, "
            f"raw {max(r['peak_kb'] for r in raw) / 1024:.0f} MB",
        ]
        for run in runs:
            run["stored"].unlink(missing_ok=True)
        self.stdout.write("\n".join(lines))
