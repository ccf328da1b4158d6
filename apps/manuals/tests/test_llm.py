"""The LLM client and engine against an OpenAI-compatible SSE server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.devtools.evaluation.answers import demo_pages
from apps.devtools.testing import eventually
from apps.manuals import llm_client
from apps.manuals.answers import extractive, llm
from apps.manuals.answers.framing import phrase
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, ManualInfo
from apps.manuals.retrieval import ManualIndex

PDF = ManualInfo(id=5, version=1, title="LX-88 manual", kind="pdf", source_url="")
QUESTION = "How do I do a factory reset?"


def _event(text: str) -> bytes:
    body = {"choices": [{"index": 0, "delta": {"content": text}}]}
    return f"data: {json.dumps(body)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    """The model name picks the behaviour; `replies` holds the pieces to stream."""

    replies: dict[str, list[str]] = {}
    requests: list[dict] = []
    # The "slow" mode: requests wait for `gate`, then drip their pieces; the server counts how
    # many are in flight at once, which is what a concurrency limit must bound.
    gate = threading.Event()
    lock = threading.Lock()
    in_flight = 0
    most_in_flight = 0

    def log_message(self, *args: object) -> None:
        pass

    def _stream_slowly(self, pieces: list[str]) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        cls.gate.wait(timeout=5)
        for piece in pieces:
            self.wfile.write(_event(piece))
            self.wfile.flush()
            time.sleep(0.1)
        # Leave the count before [DONE]: the client cannot free its slot before reading it, so
        # the next request can never be counted while this one is still on the books.
        with cls.lock:
            cls.in_flight -= 1
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"body": body, "auth": self.headers.get("Authorization")})
        mode = body["model"]
        if mode == "error":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        pieces = self.replies.get(mode, [])
        if mode == "slow":
            self._stream_slowly(pieces)
            return
        if mode == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = _event(pieces[0])
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"400\r\npartial")  # a chunk promised and never finished
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(_event(piece))
        if mode != "no-done":
            self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def index() -> ManualIndex:
    return ManualIndex(manual_id=5, version=1, pages=demo_pages("lumenvale-lx-88.pdf"))


@pytest.fixture
def configured(settings, server: str):
    settings.LLM_BASE_URL = server
    settings.LLM_API_KEY = "sk-test"
    settings.LLM_TIMEOUT = 5.0
    _Handler.requests.clear()
    return settings


async def _collect(mode: str, server: str) -> list[str]:
    return [
        piece
        async for piece in llm_client.stream_chat(
            base_url=server, model=mode, api_key="k", messages=[], timeout=5.0
        )
    ]


async def test_the_client_streams_content_until_done(server: str) -> None:
    _Handler.replies["ok"] = ["Hold ", "PIANO [p. 22]."]
    assert await _collect("ok", server) == ["Hold ", "PIANO [p. 22]."]


@pytest.mark.parametrize("mode", ["error", "cut", "no-done"])
async def test_the_client_raises_on_an_http_error_a_cut_stream_or_no_done(
    server: str, mode: str
) -> None:
    _Handler.replies[mode] = ["Hold the PIANO button. "]
    with pytest.raises(llm_client.LLMError):
        await _collect(mode, server)


async def _ask(settings, index: ManualIndex, mode: str, pieces: list[str]):
    settings.LLM_MODEL = mode
    _Handler.replies[mode] = pieces
    hits = extractive.retrieve(index, QUESTION)
    fallback = extractive.compose(manual=PDF, index=index, question=QUESTION)
    emitted: list[str] = []

    async def emit(text: str) -> None:
        emitted.append(text)

    answer = await llm.answer(
        manual=PDF, index=index, hits=hits, question=QUESTION, fallback=fallback, emit=emit
    )
    return answer, emitted, fallback


async def test_the_engine_streams_sentences_and_cites_given_pages(configured, index) -> None:
    answer, emitted, _ = await _ask(
        configured,
        index,
        "good",
        ["Switch it off, then hold PIANO and SYNTH", " [p. 22]. ", "Done."],
    )
    assert answer.engine == "llm" and answer.state == ANSWERED
    assert "".join(emitted) == answer.text
    assert emitted[0] == "Switch it off, then hold PIANO and SYNTH [p. 22]. "
    assert [c["page"] for c in answer.citations] == [22]
    request = _Handler.requests[-1]
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["stream"] is True
    assert "[p. 22]" in request["body"]["messages"][1]["content"]


async def test_a_citation_to_a_page_not_given_is_dropped(configured, index) -> None:
    answer, _, _ = await _ask(
        configured, index, "bad-page", ["Hold PIANO and SYNTH [p. 22]. It is safe [p. 99]. "]
    )
    assert "[p. 99]" not in answer.text
    assert "[p. 22]" in answer.text
    assert [c["page"] for c in answer.citations] == [22]


@pytest.mark.parametrize("mode", ["error", "cut", "no-done"])
async def test_a_failing_endpoint_falls_back_to_the_extractive_answer_saying_so(
    configured, index, mode: str
) -> None:
    answer, emitted, fallback = await _ask(configured, index, mode, ["Switch it off first. "])
    assert answer.engine == "extractive" and answer.state == ANSWERED
    assert "".join(emitted) == answer.text
    assert phrase(llm.FALLBACK_NOTICE) in answer.text
    assert answer.text.endswith(fallback.text)


async def test_an_answer_without_page_references_falls_back(configured, index) -> None:
    answer, _, fallback = await _ask(configured, index, "uncited", ["Just press reset. "])
    assert phrase(llm.NO_CITATION_NOTICE) in answer.text
    assert answer.citations == fallback.citations


async def test_the_model_saying_not_in_manual_abstains(configured, index) -> None:
    answer, emitted, _ = await _ask(configured, index, "abstain", ["NOT_IN", "_MANUAL"])
    assert answer.state == NOT_IN_MANUAL and answer.citations == []
    assert "NOT_IN_MANUAL" not in "".join(emitted)


def test_split_complete_never_cuts_inside_a_page_marker() -> None:
    done, rest = llm.split_complete("Press it. [p. 4] Then hold it [p.")
    assert done == "Press it. [p. 4] "
    assert rest == "Then hold it [p."


SLOW_REPLY = ["Switch it off, then hold PIANO and SYNTH [p. 22]. ", "Keep holding. ", "Done."]


@pytest.fixture
def slow(configured):
    _Handler.replies["slow"] = SLOW_REPLY
    _Handler.in_flight = _Handler.most_in_flight = 0
    _Handler.gate.set()
    configured.LLM_MODEL = "slow"
    configured.LLM_MAX_CONCURRENCY = 1
    yield configured
    _Handler.gate.set()  # never leave a server thread waiting


async def test_the_concurrency_limit_keeps_one_request_in_flight_at_the_endpoint(
    slow, index
) -> None:
    (first, _, _), (second, _, _) = await asyncio.gather(
        _ask(slow, index, "slow", SLOW_REPLY), _ask(slow, index, "slow", SLOW_REPLY)
    )
    assert len(_Handler.requests) == 2
    assert _Handler.most_in_flight == 1
    assert first.engine == second.engine == "llm"


async def test_an_answer_that_gets_no_slot_in_time_falls_back_saying_so(slow, index) -> None:
    _Handler.gate.clear()
    holder = asyncio.create_task(_ask(slow, index, "slow", SLOW_REPLY))
    await eventually(lambda: _Handler.requests, what="the holder's request reaches the endpoint")
    # The holder's request was opened with the long timeout; only the wait for a slot is short.
    slow.LLM_TIMEOUT = 0.2
    answer, emitted, fallback = await _ask(slow, index, "slow", SLOW_REPLY)
    _Handler.gate.set()
    held, _, _ = await holder
    assert answer.engine == "extractive" and answer.state == ANSWERED
    assert "".join(emitted) == answer.text
    assert answer.text.startswith(phrase(llm.FALLBACK_NOTICE))
    assert answer.text.endswith(fallback.text)
    assert len(_Handler.requests) == 1
    assert held.engine == "llm"
