"""Server-drawn charts: geometry for inline SVG (attributes only, no style, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 720
HEIGHT = 180


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    rects: list[Rect]
    width: int
    height: int
    labels: list[tuple[float, str]]
    maximum: int


def stacked_days(rows: list[dict[str, Any]], states: list[str]) -> Chart:
    """One column a day, stacked by answer state."""
    peak = max((row["total"] for row in rows), default=0)
    if not rows or not peak:
        return Chart([], WIDTH, HEIGHT, [], 0)
    step = WIDTH / len(rows)
    rects: list[Rect] = []
    labels: list[tuple[float, str]] = []
    for column, row in enumerate(rows):
        bottom = float(HEIGHT)
        for state in states:
            height = HEIGHT * row[state] / peak
            if height <= 0:
                continue
            bottom -= height
            rects.append(
                Rect(
                    x=round(column * step + 1, 2),
                    y=round(bottom, 2),
                    width=round(max(step - 2, 1), 2),
                    height=round(height, 2),
                    css=f"state-{state}",
                    title=f"{row['day']}: {row[state]} {state}",
                )
            )
        if column % max(1, len(rows) // 6) == 0:
            labels.append((round(column * step, 2), str(row["day"])))
    return Chart(rects, WIDTH, HEIGHT, labels, peak)


def with_bars(rows: list[dict[str, Any]], *, value: str, width: int = 432) -> list[dict[str, Any]]:
    """The rows, each with `bar`: its value's length in an SVG `width` wide."""
    peak = max((row[value] for row in rows), default=0)
    return [{**row, "bar": round(width * row[value] / peak, 1) if peak else 0} for row in rows]
