"""Print how well the answer engine answers a labelled QA set.

`--set demo` (the default) measures qa_set.json over the bundled demo manuals; `--set real`
measures real_qa_set.json over the real vendor manuals in ../shared/manuals/ (or
`--manuals DIR`), the tuning and held-out splits reported apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.devtools.evaluation.answers import (
    QA_SET,
    RANKERS,
    REAL_QA_SET,
    SHARED_MANUALS,
    SPLITS,
    Outcome,
    Report,
    Tally,
    evaluate,
    evaluate_real,
    percentile,
    tally,
)
from apps.manuals.extraction import ExtractionError


class Command(BaseCommand):
    help = "Evaluate answers on a labelled QA set: hit@1, hit@3, abstention, latency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--set",
            dest="qa_set",
            choices=["demo", "real"],
            default="demo",
            help="demo: qa_set.json on the demo manuals; real: real_qa_set.json on real ones.",
        )
        parser.add_argument("--qa", type=Path, help="A QA set in the same format as --set's.")
        parser.add_argument(
            "--manuals",
            type=Path,
            default=SHARED_MANUALS,
            help="Where the real set's PDFs are (default ../shared/manuals/).",
        )
        parser.add_argument(
            "--split",
            choices=[*SPLITS, "all"],
            default="all",
            help="Real set: the questions to ask (all: tune and heldout, reported apart).",
        )
        parser.add_argument(
            "--misses",
            action="store_true",
            help="List the questions missed (real set: of the tuning split only).",
        )
        parser.add_argument(
            "--ranker",
            choices=[*RANKERS, "all"],
            default="ours",
            help="Demo set: what ranks the passages: our BM25 (production), bm25s, "
            "bm25s on our tokens, all.",
        )

    def handle(self, *args: Any, qa_set: str, qa: Path | None, **options: Any) -> None:
        if qa_set == "real":
            outcomes = self.handle_real(qa or REAL_QA_SET, options["manuals"], options["split"])
            if options["misses"]:
                self.write_misses(outcomes)
            return
        ranker = options["ranker"]
        for name in RANKERS if ranker == "all" else (ranker,):
            report = evaluate(qa_path=qa or QA_SET, ranker=name)
            self.stdout.write(f"ranker: {name}")
            self.stdout.write(self.summary(report))
            if options["misses"]:
                for miss in report.misses:
                    self.stdout.write(
                        f"- {miss['manual']}: {miss['question']} "
                        f"expected {miss['expected_pages']}, cited {miss['cited']}"
                    )

    def handle_real(self, qa: Path, manuals: Path, split: str) -> list[Outcome]:
        try:
            outcomes, documents = evaluate_real(qa_path=qa, manuals=manuals, split=split)
        except (OSError, ValueError, KeyError, ExtractionError) as error:
            raise CommandError(f"cannot evaluate {qa.name}: {error}") from error
        models = sorted({document.embedding_model for document in documents} - {""})
        embedded = sum(bool(document.embedding_model) for document in documents)
        self.stdout.write(
            f"documents: {len(documents)}, {embedded} with passage embeddings"
            + (f" ({', '.join(models)})" if models else " (lexical only)")
            + "; latency: ranking and composing (rank), embedding the question (embed)",
            ending="\n\n",
        )
        for name in SPLITS if split == "all" else (split,):
            chosen = [outcome for outcome in outcomes if outcome.question.split == name]
            self.stdout.write(self.real_summary(name, chosen), ending="\n\n")
        if split == "all":
            self.stdout.write(self.real_summary("all (tune + heldout)", outcomes), ending="\n\n")
        return outcomes

    def real_summary(self, name: str, outcomes: list[Outcome]) -> str:
        groups = tally(outcomes)
        overall = groups["all"]
        lines = [
            f"split {name}: {len(outcomes)} questions ({overall.answerable} answerable, "
            f"{overall.unanswerable} not in the manuals)",
            f"{'group':<16}{'n':>4}{'hit@1':>8}{'hit@3':>8}{'false abst.':>13}"
            f"{'false ans.':>12}{'uncited':>9}{'rank p50/p95 ms':>20}{'embed p50/p95 ms':>20}",
        ]
        lines.extend(self.real_row(key, group) for key, group in groups.items())
        return "\n".join(lines)

    @staticmethod
    def real_row(key: str, group: Tally) -> str:
        def share(count: int, total: int) -> str:
            return f"{count / total:.0%}" if total else "-"

        def latency(values: list[float]) -> str:
            return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f}"

        return (
            f"{key:<16}{group.answerable + group.unanswerable:>4}"
            f"{share(group.hit_at_1, group.answerable):>8}"
            f"{share(group.hit_at_3, group.answerable):>8}"
            f"{share(group.false_abstentions, group.answerable):>13}"
            f"{f'{group.false_answers}/{group.unanswerable}':>12}"
            f"{group.uncited:>9}{latency(group.ms):>20}{latency(group.embed_ms):>20}"
        )

    def write_misses(self, outcomes: list[Outcome]) -> None:
        # The held-out split is never listed: reading its misses would be tuning on it.
        for outcome in outcomes:
            question = outcome.question
            if question.split != "tune":
                continue
            if question.answerable:
                hit = question.acceptable.intersection(outcome.cited[:3])
                if hit:
                    continue
                want = sorted(question.acceptable)
            elif outcome.answered:
                want = "not answered"
            else:
                continue
            self.stdout.write(
                f"- {question.id} [{question.product}/{question.lang}] {question.question!r}: "
                f"want {want}, cited {list(outcome.cited[:3]) or 'nothing'}"
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
