from __future__ import annotations

from pathlib import Path

import pytest

from apps.manuals.extraction import ExtractionError, ExtractLimits, extract_document
from apps.manuals.tests.conftest import make_pdf


def write(tmp_path: Path, data: bytes, name: str = "doc") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_it_numbers_pdf_pages_as_a_viewer_does(tmp_path):
    path = write(tmp_path, make_pdf(["first page", "second page", "third page"]))
    seen: list[tuple[int, int]] = []
    pages = extract_document(
        path,
        kind="pdf",
        limits=ExtractLimits(),
        on_progress=lambda d, t: seen.append((d, t)),
        progress_steps=3,
    )
    assert [p.number for p in pages] == [1, 2, 3]
    assert "second page" in pages[1].text
    assert seen == [(1, 3), (2, 3)]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (make_pdf(["secret"], user_password="pw"), "password"),
        (make_pdf(["whole", "file"])[:600], "damaged"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 40, "damaged"),
        (make_pdf(["", ""]), "no_text"),
    ],
    ids=["encrypted", "truncated", "garbage", "blank"],
)
def test_a_broken_or_hostile_pdf_is_refused_with_a_reason(tmp_path, data, code):
    with pytest.raises(ExtractionError) as caught:
        extract_document(write(tmp_path, data), kind="pdf", limits=ExtractLimits())
    assert caught.value.code == code
    assert caught.value.reason.endswith(".")


def test_a_pdf_over_the_page_cap_is_refused_before_it_is_read(tmp_path):
    path = write(tmp_path, make_pdf(["page"] * 40))
    with pytest.raises(ExtractionError, match="40 pages, more than the 25") as caught:
        extract_document(path, kind="pdf", limits=ExtractLimits(max_pages=25))
    assert caught.value.code == "too_many_pages"


def test_a_pdf_over_the_text_cap_is_refused(tmp_path):
    path = write(tmp_path, make_pdf(["word " * 400] * 3))
    with pytest.raises(ExtractionError) as caught:
        extract_document(path, kind="pdf", limits=ExtractLimits(max_text_chars=1000))
    assert caught.value.code == "too_much_text"


def test_the_child_is_stopped_at_its_memory_limit(tmp_path):
    # The readers are loaded before the limit applies; 20 MB leaves no room to read with.
    path = write(tmp_path, make_pdf(["lorem ipsum " * 300] * 50))
    with pytest.raises(ExtractionError) as caught:
        extract_document(path, kind="pdf", limits=ExtractLimits(memory_mb=20))
    assert caught.value.code in {"memory", "crashed"}


def test_the_child_is_killed_at_the_wall_clock_limit(tmp_path):
    path = write(tmp_path, make_pdf(["page"]))
    with pytest.raises(ExtractionError) as caught:
        extract_document(path, kind="pdf", limits=ExtractLimits(wall_seconds=0.01))
    assert caught.value.code == "timeout"


def test_html_is_split_into_sections_at_headings(tmp_path):
    paragraph = "The looper records up to six tracks at once and keeps them in sync. " * 4
    html = (
        "<html><head><title>RC manual</title><script>var x = 1;</script></head><body>"
        "<nav>Home | Products</nav><article>"
        f"<h1>Recording</h1><p>{paragraph}</p>"
        f"<h2>Playback</h2><p>{paragraph}</p><ul><li>Press PLAY to start.</li></ul>"
        "<table><tr><td>Tempo</td><td>40-300 BPM</td></tr></table>"
        "</article></body></html>"
    ).encode()
    pages = extract_document(write(tmp_path, html), kind="html", limits=ExtractLimits())
    titles = [p.title for p in pages]
    assert "Recording" in titles and "Playback" in titles
    text = "\n".join(p.text for p in pages)
    assert "Press PLAY" in text and "40-300 BPM" in text
    assert "var x" not in text


def test_html_with_too_little_main_text_falls_back_to_a_plain_reading(tmp_path):
    html = b"<html><body><div><h2>Reset</h2>Hold SHIFT and power on.</div></body></html>"
    pages = extract_document(write(tmp_path, html), kind="html", limits=ExtractLimits())
    assert pages[0].title == "Reset"
    assert "Hold SHIFT and power on." in pages[0].text
