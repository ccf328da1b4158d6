"""A vendor website on loopback, and PDFs made with fpdf2, for the manual tests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fpdf import FPDF


def make_pdf(pages: list[str], *, user_password: str | None = None) -> bytes:
    pdf = FPDF()
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(w=0, text=text)
    return bytes(pdf.output())


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait between chunks of `chunk` bytes: a slow vendor.
    drip: float = 0.0
    chunk: int = 64 * 1024
    # None: send the true length; "omit": close-delimited; an int: say that, whatever we send.
    content_length: int | str | None = None
    etag: str = ""
    fail_first: int = 0


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up on purpose are part of the tests


class VendorServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, str]] = []
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def add(self, path: str, **route: object) -> str:
        self.routes[path] = Route(**route)  # type: ignore[arg-type]
        return self.url(path)

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(vendor: VendorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            vendor.hits[path] += 1
            vendor.requests.append(
                {"path": path, **{k.lower(): v for k, v in self.headers.items()}}
            )
            route = vendor.routes.get(path)
            if route is None:
                self._reply(404, b"not here")
                return
            if vendor.hits[path] <= route.fail_first:
                self._reply(503, b"busy")
                return
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.send_header("ETag", route.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.content_length == "omit":
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                length = len(route.body) if route.content_length is None else route.content_length
                self.send_header("Content-Length", str(length))
            self.end_headers()
            try:
                for start in range(0, len(route.body), route.chunk):
                    self.wfile.write(route.body[start : start + route.chunk])
                    self.wfile.flush()
                    if route.drip:
                        time.sleep(route.drip)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def vendor() -> Iterator[VendorServer]:
    server = VendorServer()
    yield server
    server.close()


@pytest.fixture
def pdf_factory() -> Callable[..., bytes]:
    return make_pdf


@pytest.fixture
def manual_settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Fast retries, the loopback vendor allowed, and originals stored under tmp_path."""
    settings.MANUAL_FETCH_ALLOWED_HOSTS = ["127.0.0.1:*"]
    settings.MANUAL_FETCH_RETRIES = 1
    settings.MANUAL_FETCH_BACKOFF = 0.01
    settings.MANUAL_FETCH_READ_TIMEOUT = 2.0
    settings.MANUAL_FETCH_DEADLINE = 10.0
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings
