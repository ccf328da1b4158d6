"""Render the bundled demo manuals (apps/manuals/demo/src/*.txt) to PDF with fpdf2.

The generated PDFs are committed, so nothing but this command needs fpdf2 (a dev dependency).
Source format, one directive or block per line:
  @title <running header>        @page <page title>   starts a new PDF page
  # heading   ## subheading      | cell | cell |       a table row (the first row is the header)
  1. text     a numbered step    anything else         a paragraph
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
_STEP = re.compile(r"^(\d+)\.\s+(.*)$")


@dataclass
class Block:
    kind: str  # "h1", "h2", "p", "step", "table"
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class SourcePage:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class SourceManual:
    title: str
    pages: list[SourcePage]


def parse_source(text: str) -> SourceManual:
    title = ""
    pages: list[SourcePage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("@title "):
            title = line.removeprefix("@title ").strip()
            continue
        if line.startswith("@page "):
            pages.append(SourcePage(title=line.removeprefix("@page ").strip()))
            continue
        if not pages:
            raise CommandError(f"content before the first @page: {line!r}")
        blocks = pages[-1].blocks
        if line.startswith("| "):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if blocks and blocks[-1].kind == "table":
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Block(kind="table", rows=[cells]))
        elif line.startswith("## "):
            blocks.append(Block(kind="h2", text=line[3:]))
        elif line.startswith("# "):
            blocks.append(Block(kind="h1", text=line[2:]))
        elif _STEP.match(line):
            blocks.append(Block(kind="step", text=line))
        else:
            blocks.append(Block(kind="p", text=line))
    if not title or not pages:
        raise CommandError("a demo manual needs an @title and at least one @page")
    return SourceManual(title=title, pages=pages)


class Command(BaseCommand):
    help = "Render the demo manuals in apps/manuals/demo/src to PDFs in apps/manuals/demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=DEMO_DIR, help="Output folder.")

    def handle(self, *args: Any, out: Path, **options: Any) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for source in sorted((DEMO_DIR / "src").glob("*.txt")):
            manual = parse_source(source.read_text(encoding="utf-8"))
            target = out / f"{source.stem}.pdf"
            target.write_bytes(self.render(manual))
            self.stdout.write(f"{target}: {len(manual.pages)} pages")

    def render(self, manual: SourceManual) -> bytes:
        try:
            from fpdf import FPDF
        except ImportError:
            raise CommandError("fpdf2 is needed: pip install -e '.[dev]'") from None

        pdf = FPDF(format="A4")
        pdf.set_title(manual.title)
        pdf.set_author("Lumenvale Audio (fictional)")
        # A page that overflows would shift every later page number the QA set relies on.
        pdf.set_auto_page_break(auto=False)
        for number, page in enumerate(manual.pages, start=1):
            pdf.add_page()
            pdf.set_font("Helvetica", size=8)
            pdf.cell(0, 6, manual.title, new_x="LMARGIN", new_y="NEXT")
            for block in page.blocks:
                self.render_block(pdf, block)
            if pdf.get_y() > pdf.h - 18:
                raise CommandError(f"{manual.title}: page {number} ({page.title}) overflows")
            pdf.set_y(-14)
            pdf.set_font("Helvetica", size=8)
            pdf.cell(0, 6, f"{manual.title} - page {number}", align="C")
        return bytes(pdf.output())

    def render_block(self, pdf: Any, block: Block) -> None:
        width = pdf.w - pdf.l_margin - pdf.r_margin
        if block.kind == "h1":
            pdf.set_font("Helvetica", style="B", size=20)
            pdf.multi_cell(width, 10, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "h2":
            pdf.ln(2)
            pdf.set_font("Helvetica", style="B", size=13)
            pdf.multi_cell(width, 7, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif block.kind == "step":
            pdf.set_font("Helvetica", size=10)
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(width - 4, 5, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif block.kind == "table":
            pdf.set_font("Helvetica", size=9)
            with pdf.table(line_height=5, first_row_as_headings=True) as table:
                for cells in block.rows:
                    row = table.row()
                    for cell in cells:
                        row.cell(cell)
            pdf.ln(2)
        else:
            pdf.set_font("Helvetica", size=10)
            pdf.multi_cell(width, 5, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
