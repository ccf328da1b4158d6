"""Print how well the extractive engine answers the labelled QA set over the demo manuals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.manuals.answers.evaluation import QA_SET, RANKERS, Report, evaluate, percentile


class Command(BaseCommand):
    help = "Evaluate answers on apps/manuals/answers/qa_set.json: hit@1, hit@3, abstention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--qa", type=Path, default=QA_SET, help="A QA set in the same format.")
        parser.add_argument("--misses", action="store_true", help="List the questions missed.")
        parser.add_argument(
            "--ranker",
            choices=[*RANKERS, "all"],
            default="ours",
            help="What ranks the passages: our BM25 (production), bm25s, bm25s on our tokens, all.",
        )

    def handle(self, *args: Any, qa: Path, misses: bool, ranker: str, **options: Any) -> None:
        for name in RANKERS if ranker == "all" else (ranker,):
            report = evaluate(qa_path=qa, ranker=name)
            self.stdout.write(f"ranker: {name}")
            self.stdout.write(self.summary(report))
            if misses:
                for miss in report.misses:
                    self.stdout.write(
                        f"- {miss['manual']}: {miss['question']} "
                        f"expected {miss['expected_pages']}, cited {miss['cited']}"
                    )

    def summary(self, report: Report) -> str:
        def latency(values: list[float]) -> str:
            return f"p50 {percentile(values, 0.5):.2f} ms, p95 {percentile(values, 0.95):.2f} ms"

        return "\n".join(
            [
                f"questions: {report.questions} ({report.answerable} answerable, "
                f"{report.unanswerable} not in the manual)",
                f"hit@1: {report.share(report.hit_at_1, report.answerable):.1%}",
                f"hit@3: {report.share(report.hit_at_3, report.answerable):.1%}",
                "correct abstention: "
                f"{report.share(report.abstained_correctly, report.unanswerable):.1%}",
                f"answered without citation: {report.answered_without_citation}",
                "passage hit@1 / hit@3 (expected page in the top passages): "
                f"{report.share(report.passage_hit_at_1, report.answerable):.1%} / "
                f"{report.share(report.passage_hit_at_3, report.answerable):.1%}",
                f"ranking per query: {latency(report.ranking_ms)}",
                f"answer per query (after ranking): {latency(report.answer_ms)}",
            ]
        )
