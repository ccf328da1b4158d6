"""`manage.py eval_prediction`: accuracy of the prediction index on the labelled set.

Run it against a database holding the catalog the cases were written for:
`manage.py import_catalog ../shared/catalogs/halilit-2026` and `manage.py load_demo`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.products.models import Product
from apps.products.prediction import PredictionIndex, refresh_index
from apps.products.prediction.normalize import tokens

CASES = Path(__file__).resolve().parents[2] / "prediction" / "eval_cases.json"
TARGET_TOP1 = 0.92
TARGET_TOP3 = 0.97


@dataclass
class Case:
    text: str
    # Any of these is a right answer (the same model listed twice, or in several finishes).
    product_ids: tuple[str, ...]


@dataclass
class Report:
    named: int = 0
    top1: int = 0
    top3: int = 0
    confident_right: int = 0
    confident_wrong: int = 0
    unnamed: int = 0
    false_confident: int = 0
    misses: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"cases: {self.named} naming a product, {self.unnamed} naming none",
            f"top-1 accuracy: {self.top1 / max(1, self.named):.1%} ({self.top1}/{self.named})",
            f"top-3 accuracy: {self.top3 / max(1, self.named):.1%} ({self.top3}/{self.named})",
            f"confident and right: {self.confident_right}/{self.named}; "
            f"confident and wrong: {self.confident_wrong}/{self.named}",
            f"false-confident rate on no-product inputs: "
            f"{self.false_confident / max(1, self.unnamed):.1%} "
            f"({self.false_confident}/{self.unnamed})",
        ]

    @property
    def passed(self) -> bool:
        return (
            self.top1 >= TARGET_TOP1 * self.named
            and self.top3 >= TARGET_TOP3 * self.named
            and self.false_confident == 0
        )


def load_cases(path: Path) -> list[Case]:
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for item in data["cases"]:
        label = item["product_id"]
        ids = () if label is None else (label,) if isinstance(label, str) else tuple(label)
        cases.append(Case(text=item["text"], product_ids=ids))
    return cases


def equivalents(product_ids: set[str]) -> dict[str, set[str]]:
    """For each labelled id, the ids of products with exactly the same name (same tokens)."""
    names = dict(Product.objects.filter(is_active=True).values_list("catalog_id", "name"))
    missing = sorted(product_ids - names.keys())
    if missing:
        raise CommandError(
            f"{len(missing)} labelled products are not in this database (e.g. {missing[0]}); "
            "import ../shared/catalogs/halilit-2026 and run load_demo first"
        )
    by_name: dict[tuple[str, ...], set[str]] = {}
    for catalog_id, name in names.items():
        by_name.setdefault(tuple(tokens(name)), set()).add(catalog_id)
    return {pid: by_name[tuple(tokens(names[pid]))] for pid in product_ids}


def evaluate(index: PredictionIndex, cases: list[Case], same: dict[str, set[str]]) -> Report:
    report = Report()
    for case in cases:
        found = index.predict(case.text, limit=5)
        confident = bool(found) and found[0].confident
        if not case.product_ids:
            report.unnamed += 1
            if confident:
                report.false_confident += 1
                report.misses.append(f"false confident: {case.text!r} -> {found[0].product_id}")
            continue
        report.named += 1
        right = set().union(*(same[pid] for pid in case.product_ids))
        ids = [candidate.product_id for candidate in found]
        if ids[:1] and ids[0] in right:
            report.top1 += 1
            report.confident_right += confident
        else:
            report.confident_wrong += confident
            report.misses.append(
                f"top-1 miss: {case.text!r} -> {ids[:3]} (want {case.product_ids})"
            )
        if right.intersection(ids[:3]):
            report.top3 += 1
    return report


class Command(BaseCommand):
    help = "Print top-1/top-3 accuracy and the false-confident rate of product prediction."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=Path, default=CASES, help="labelled cases (JSON)")
        parser.add_argument("--show-misses", action="store_true", help="list every miss")
        parser.add_argument(
            "--check", action="store_true", help="exit with an error when a target is missed"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cases = load_cases(options["cases"])
        same = equivalents({pid for case in cases for pid in case.product_ids})
        index = refresh_index()
        report = evaluate(index, cases, same)
        self.stdout.write(f"index: {len(index)} products, catalog version {index.version}")
        for line in report.lines():
            self.stdout.write(line)
        if options["show_misses"]:
            for miss in report.misses:
                self.stdout.write(f"  {miss}")
        if options["check"] and not report.passed:
            raise CommandError(
                f"targets: top-1 >= {TARGET_TOP1:.0%}, top-3 >= {TARGET_TOP3:.0%}, "
                "no confident candidate on no-product inputs"
            )
