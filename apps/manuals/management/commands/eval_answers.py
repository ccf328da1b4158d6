"""Print how well the extractive engine answers the labelled QA set over the demo manuals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.manuals.answers.evaluation import QA_SET, Report, evaluate


class Command(BaseCommand):
    help = "Evaluate answers on apps/manuals/answers/qa_set.json: hit@1, hit@3, abstention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--qa", type=Path, default=QA_SET, help="A QA set in the same format.")
        parser.add_argument("--misses", action="store_true", help="List the questions missed.")

    def handle(self, *args: Any, qa: Path, misses: bool, **options: Any) -> None:
        report = evaluate(qa_path=qa)
        self.stdout.write(self.summary(report))
        if misses:
            for miss in report.misses:
                self.stdout.write(
                    f"- {miss['manual']}: {miss['question']} expected {miss['expected_pages']}, "
                    f"cited {miss['cited']}"
                )

    def summary(self, report: Report) -> str:
        return "\n".join(
            [
                f"questions: {report.questions} ({report.answerable} answerable, "
                f"{report.unanswerable} not in the manual)",
                f"hit@1: {report.share(report.hit_at_1, report.answerable):.1%}",
                f"hit@3: {report.share(report.hit_at_3, report.answerable):.1%}",
                "correct abstention: "
                f"{report.share(report.abstained_correctly, report.unanswerable):.1%}",
                f"answered without citation: {report.answered_without_citation}",
            ]
        )
