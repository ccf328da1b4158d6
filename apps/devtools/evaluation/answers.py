"""Measure the answer engine on labelled QA sets, without a database.

Two sets: `qa_set.json` over the bundled demo manuals, read with the ingestion's own page
readers; `real_qa_set.json` over the real vendor manuals in ../shared/manuals/, extracted by
the ingestion's sandboxed child and asked the way customers ask (Hebrew, misspellings,
follow-ups, questions the manuals do not answer). The figures depend only on extraction,
retrieval and the engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from apps.manuals.answers.extractive import compose
from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, Answer, ManualInfo
from apps.manuals.retrieval import ManualIndex, Ranker, query_weights

logger = logging.getLogger(__name__)

# Production's BM25; the bm25s library with its own tokenizer; bm25s fed our tokens.
RANKERS = ("ours", "bm25s", "bm25s-our-tokens")

REPOSITORY = Path(__file__).resolve().parents[3]
DEMO_DIR = REPOSITORY / "apps" / "manuals" / "demo"
QA_SET = Path(__file__).resolve().parent / "qa_set.json"
REAL_QA_SET = Path(__file__).resolve().parent / "real_qa_set.json"
# Real vendor manuals are never copied into the repository: they sit beside it.
SHARED_MANUALS = REPOSITORY.parent / "shared" / "manuals"
# The evaluation's own cache of vectors (git-ignored), so tuning runs do not re-embed.
EMBEDDING_CACHE = REPOSITORY / "var" / "eval-embeddings.sqlite3"


def demo_pages(name: str) -> list[tuple[int, str]]:
    """(page number, text) of a demo manual, read the way ingestion reads it."""
    from apps.manuals.extraction.child import _clean, _pages

    path = DEMO_DIR / name
    kind = "html" if path.suffix == ".html" else "pdf"
    _, pages = _pages(kind, str(path), 10_000)
    return [(number, _clean(text)) for number, (_, text) in enumerate(pages, start=1)]


@dataclass
class Report:
    questions: int = 0
    answerable: int = 0
    hit_at_1: int = 0
    hit_at_3: int = 0
    unanswerable: int = 0
    abstained_correctly: int = 0
    answered_without_citation: int = 0
    # The expected page among the pages of the top passage / top three passages, before the
    # engine picks its sentences: the rankers compared on their own.
    passage_hit_at_1: int = 0
    passage_hit_at_3: int = 0
    ranking_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def share(self, count: int, total: int) -> float:
        return count / total if total else 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def make_ranker(name: str, index: ManualIndex) -> Ranker:
    if name not in RANKERS:
        raise ValueError(f"unknown ranker {name!r}; expected one of {RANKERS}")
    if name == "ours":
        return index.rank
    # Only this comparison uses bm25s, so it is a development dependency (`.[dev]`).
    from apps.devtools.evaluation.bm25s_ranker import Bm25sRanker

    return Bm25sRanker(index, our_tokens=name == "bm25s-our-tokens")


def evaluate(*, qa_path: Path = QA_SET, ranker: str = "ours") -> Report:
    questions = json.loads(qa_path.read_text(encoding="utf-8"))["questions"]
    indexes: dict[str, tuple[ManualInfo, ManualIndex, Ranker]] = {}
    report = Report()
    for number, item in enumerate(questions):
        name = item["manual"]
        if name not in indexes:
            manual_id = len(indexes) + 1
            info = ManualInfo(
                id=manual_id,
                version=1,
                title=name,
                kind="html" if name.endswith(".html") else "pdf",
                source_url="",
            )
            index = ManualIndex(manual_id=manual_id, version=1, pages=demo_pages(name))
            indexes[name] = (info, index, make_ranker(ranker, index))
        info, index, rank = indexes[name]
        started = time.perf_counter()
        hits = rank(item["question"], query_weights(item["question"]), 3)
        ranked_at = time.perf_counter()
        answer = compose(manual=info, index=index, question=item["question"], ranker=rank)
        report.ranking_ms.append((ranked_at - started) * 1000)
        report.answer_ms.append((time.perf_counter() - ranked_at) * 1000)
        expected = set(item["expected_pages"])
        cited = [citation["page"] for citation in answer.citations]
        report.questions += 1
        if answer.state == ANSWERED and not cited:
            report.answered_without_citation += 1
        if not expected:
            report.unanswerable += 1
            if answer.state == NOT_IN_MANUAL:
                report.abstained_correctly += 1
            else:
                report.misses.append({"n": number, **item, "answer": answer.text, "cited": cited})
            continue
        report.answerable += 1
        if hits and expected.intersection(hits[0].pages):
            report.passage_hit_at_1 += 1
        if any(expected.intersection(hit.pages) for hit in hits):
            report.passage_hit_at_3 += 1
        # Citations come in page order; rank them by the order the answer first cites them.
        ranked = _citation_rank(answer.text, cited)
        if ranked[:1] and ranked[0] in expected:
            report.hit_at_1 += 1
        if expected.intersection(ranked[:3]):
            report.hit_at_3 += 1
        else:
            report.misses.append({"n": number, **item, "answer": answer.text, "cited": cited})
    return report


def _citation_rank(text: str, pages: list[int]) -> list[int]:
    from apps.manuals.answers.types import marker_pages

    ranked: list[int] = []
    for _, named in marker_pages(text):
        for page in named:
            if page in pages and page not in ranked:
                ranked.append(page)
    return ranked


# --- The labelled set over the real vendor manuals (real_qa_set.json) -----------------------


class CachedEmbedder:
    """The process's embedder with every vector kept on disk, keyed by (model, prefix kind,
    text hash): the evaluation only, so a tuning run embeds only text it has not seen.

    The vectors are the model's own, so the figures are the same as without the cache.
    """

    def __init__(self, inner: Any, path: Path = EMBEDDING_CACHE) -> None:
        self.inner = inner
        self.name = inner.name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, kind TEXT, digest TEXT, "
            "vector BLOB, PRIMARY KEY (model, kind, digest))"
        )
        self._lock = threading.Lock()

    def _cached(self, kind: str, texts: list[str], compute: Callable) -> np.ndarray:
        digests = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        with self._lock:
            found = {
                digest: np.frombuffer(blob, dtype=np.float32)
                for digest, blob in self._db.execute(
                    # Only placeholders are formatted in; the values are bound.
                    "SELECT digest, vector FROM vectors WHERE model = ? AND kind = ? "  # noqa: S608
                    f"AND digest IN ({','.join('?' * len(digests))})",
                    [self.name, kind, *digests],
                )
            }
        missing = list(dict.fromkeys(d for d in digests if d not in found))
        if missing:
            text_of = dict(zip(digests, texts, strict=True))
            vectors = compute([text_of[digest] for digest in missing])
            with self._lock, self._db:
                for digest, vector in zip(missing, vectors, strict=True):
                    vector = np.ascontiguousarray(vector, dtype=np.float32)
                    found[digest] = vector
                    self._db.execute(
                        "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                        (self.name, kind, digest, vector.tobytes()),
                    )
        if not digests:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([found[digest] for digest in digests])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._cached("passage", list(texts), self.inner.embed_passages)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._cached("query", list(texts), self.inner.embed_queries)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


def use_cached_embeddings(path: Path = EMBEDDING_CACHE) -> bool:
    """Put the on-disk cache in front of this process's embedder; False when there is none."""
    from apps.manuals.embeddings import EmbeddingError, get_embedder, replace_embedder

    try:
        current = get_embedder()
    except EmbeddingError:
        return False
    if not isinstance(current, CachedEmbedder):
        replace_embedder(lambda inner: CachedEmbedder(inner, path))
    return True


# --- The labelled set over the real vendor manuals (real_qa_set.json) -----------------------

SPLITS = ("tune", "heldout")


@dataclass(frozen=True)
class RealProduct:
    key: str
    name: str
    brand: str
    documents: dict[str, int]  # file name -> page count

    @property
    def exclude_text(self) -> str:
        """What the product calls itself: words of it in a question are not question words."""
        return f"{self.name} {self.brand}"


@dataclass(frozen=True)
class RealQuestion:
    id: str
    product: str
    lang: str
    question: str
    split: str
    acceptable: frozenset[tuple[str, int]]  # empty: the documents do not answer it
    previous_question: str = ""  # the question of the turn a follow-up refers to
    previous: str = ""  # that turn as context: its question and what it was told

    @property
    def answerable(self) -> bool:
        return bool(self.acceptable)


@dataclass(frozen=True)
class Document:
    """One ready document of a product, as the answer engine gets it."""

    file: str
    info: ManualInfo
    index: Any
    embedding_model: str = ""  # "": lexical only


def load_real_set(path: Path = REAL_QA_SET) -> tuple[dict[str, RealProduct], list[RealQuestion]]:
    """The products and questions of a real-manual set; ValueError names the first bad item."""
    data = json.loads(path.read_text(encoding="utf-8"))
    products = {
        key: RealProduct(
            key=key, name=value["name"], brand=value["brand"], documents=value["documents"]
        )
        for key, value in data["products"].items()
    }
    for product in products.values():
        if not product.documents:
            raise ValueError(f"{path.name}: {product.key} has no documents")
    questions: list[RealQuestion] = []
    for item in data["questions"]:
        product = products.get(item.get("product", ""))
        if product is None or item.get("split") not in SPLITS:
            raise ValueError(f"{path.name}: {item.get('id')}: unknown product or split")
        acceptable = frozenset((a["document"], int(a["page"])) for a in item.get("acceptable", ()))
        if bool(acceptable) != item.get("answerable", True):
            raise ValueError(f"{path.name}: {item['id']}: acceptable pages contradict answerable")
        for document, page in acceptable:
            if not 1 <= page <= product.documents.get(document, 0):
                raise ValueError(f"{path.name}: {item['id']}: no page {page} in {document}")
        previous = item.get("previous")
        questions.append(
            RealQuestion(
                id=item["id"],
                product=product.key,
                lang=item["lang"],
                question=item["question"],
                split=item["split"],
                acceptable=acceptable,
                previous_question=previous["question"] if previous else "",
            )
        )
    return products, questions


def extract_pdf(path: Path) -> list[tuple[int, str]]:
    """(page number, text) of a PDF, through the ingestion's sandboxed extraction child."""
    from apps.manuals.extraction import extract_document
    from apps.manuals.services.pipeline import extract_limits

    return [
        (page.number, page.text)
        for page in extract_document(path, kind="pdf", limits=extract_limits())
    ]


def build_documents(products: dict[str, RealProduct], manuals: Path) -> dict[str, list[Document]]:
    """Every product's documents read from `manuals` and indexed the way ingestion does."""
    missing = [
        name
        for product in products.values()
        for name in product.documents
        if not (manuals / name).is_file()
    ]
    if missing:
        raise FileNotFoundError(f"not in {manuals}: {', '.join(missing)}")
    built: dict[str, list[Document]] = {}
    manual_id = 0
    for product in products.values():
        for name in product.documents:
            manual_id += 1
            info = ManualInfo(id=manual_id, version=1, title=name, kind="pdf", source_url="")
            index, model = index_pages(manual_id, extract_pdf(manuals / name))
            built.setdefault(product.key, []).append(
                Document(file=name, info=info, index=index, embedding_model=model)
            )
    return built


def index_pages(manual_id: int, pages: list[tuple[int, str]]) -> tuple[Any, str]:
    """A document's index as the worker stores it and a web process loads it, and the model
    that embedded its passages ("" when embeddings are unavailable: lexical only)."""
    from apps.manuals.embeddings import EmbeddingError, get_embedder
    from apps.manuals.retrieval.store import attach_embeddings, build_lexical, embedding_matrix

    built = build_lexical(manual_id=manual_id, version=1, pages=pages)
    index = ManualIndex.from_bytes(built.to_bytes(), manual_id=manual_id, version=1)
    try:
        embedder = get_embedder()
        matrix = embedding_matrix(index, embedder)
    except EmbeddingError as error:
        logger.warning("manual %s not embedded, evaluated lexically: %s", manual_id, error)
        return index, ""
    # Stored as float16, as the worker stores them.
    attach_embeddings(index, matrix.astype(np.float16), model=embedder.name)
    return index, embedder.name


def embed(question: RealQuestion, exclude: str) -> Any:
    """The question's vector as the answer service computes it (None: lexical only)."""
    from apps.manuals.retrieval import embed_question

    return embed_question(question.question, exclude=[exclude])


def ask_documents(
    documents: list[Document], question: RealQuestion, exclude: str, vector: Any
) -> Answer:
    """The product's answer from all its documents, asked as the chat asks: a question for the
    shop (price, stock, buying) goes to the staff, any other to the answer service, with the
    previous turn as context and the product's names excluded from the question's words.
    With `index_pages` and `embed`, the only code here that calls into retrieval."""
    from apps.products.models import Product
    from apps.sessions.shop_questions import shop_answer

    shop = shop_answer(Product(name=exclude), question.question)
    if shop is not None:
        return shop
    return compose(
        documents=[(document.info, document.index) for document in documents],
        question=question.question,
        context=question.previous,
        exclude=[exclude],
        query_vector=vector,
    )


Asker = Callable[[list[Document], RealQuestion, str, Any], Answer]
Embedder = Callable[[RealQuestion, str], Any]


@dataclass(frozen=True)
class Outcome:
    question: RealQuestion
    answered: bool
    cited: tuple[tuple[str, int], ...]  # (document, page), in the order the answer cites them
    ms: float  # ranking and composing the answer
    embed_ms: float = 0.0  # embedding the question


@dataclass
class Tally:
    answerable: int = 0
    hit_at_1: int = 0
    hit_at_3: int = 0
    false_abstentions: int = 0
    unanswerable: int = 0
    false_answers: int = 0
    answered: int = 0
    uncited: int = 0
    ms: list[float] = field(default_factory=list)
    embed_ms: list[float] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.ms.append(outcome.ms)
        self.embed_ms.append(outcome.embed_ms)
        if outcome.answered:
            self.answered += 1
            self.uncited += not outcome.cited
        acceptable = outcome.question.acceptable
        if not acceptable:
            self.unanswerable += 1
            self.false_answers += outcome.answered
            return
        self.answerable += 1
        self.false_abstentions += not outcome.answered
        self.hit_at_1 += bool(acceptable.intersection(outcome.cited[:1]))
        self.hit_at_3 += bool(acceptable.intersection(outcome.cited[:3]))


def cited_in_order(answer: Answer, documents: list[Document]) -> tuple[tuple[str, int], ...]:
    """The (document, page) pairs an answer cites, in the order its text first cites them.

    Citations alone come in page order; the markers in the text say which came first. A
    citation no marker names (an engine that does not write markers) follows in list order.
    """
    from apps.manuals.answers.types import marker_pages

    files = {document.info.id: document.file for document in documents}
    cited = [(files.get(c["manual_id"], str(c["manual_id"])), c["page"]) for c in answer.citations]
    named = [page for _, pages in marker_pages(answer.text) for page in pages]
    ordered: list[tuple[str, int]] = []
    for pair in [pair for page in named for pair in cited if pair[1] == page] + cited:
        if pair not in ordered:
            ordered.append(pair)
    return tuple(ordered)


def _with_previous_turn(
    question: RealQuestion,
    documents: list[Document],
    product: RealProduct,
    ask: Asker,
    embed: Embedder,
) -> RealQuestion:
    """A follow-up with the turn it refers to as context, the way the chat keeps it: the
    previous question and the answer it was given, asked first (not timed)."""
    if not question.previous_question:
        return question
    earlier = replace(question, question=question.previous_question, previous_question="")
    told = ask(documents, earlier, product.exclude_text, embed(earlier, product.exclude_text))
    return replace(question, previous=f"{question.previous_question}\n{told.text}")


def run_real(
    questions: list[RealQuestion],
    products: dict[str, RealProduct],
    documents: dict[str, list[Document]],
    *,
    ask: Asker = ask_documents,
    embed: Embedder = embed,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for asked in questions:
        product = products[asked.product]
        question = _with_previous_turn(asked, documents[product.key], product, ask, embed)
        started = time.perf_counter()
        vector = embed(question, product.exclude_text)
        embedded = time.perf_counter()
        answer = ask(documents[product.key], question, product.exclude_text, vector)
        done = time.perf_counter()
        outcomes.append(
            Outcome(
                question=question,
                answered=answer.state == ANSWERED,
                cited=cited_in_order(answer, documents[product.key]),
                ms=(done - embedded) * 1000,
                embed_ms=(embedded - started) * 1000,
            )
        )
    return outcomes


def tally(outcomes: list[Outcome]) -> dict[str, Tally]:
    """Figures overall ("all"), per language ("lang:he") and per product ("product:beads")."""
    groups: dict[str, Tally] = {"all": Tally()}
    for outcome in outcomes:
        question = outcome.question
        for key in ("all", f"lang:{question.lang}", f"product:{question.product}"):
            groups.setdefault(key, Tally()).add(outcome)
    return dict(sorted(groups.items(), key=lambda item: (item[0] != "all", item[0])))


def evaluate_real(
    *, qa_path: Path = REAL_QA_SET, manuals: Path = SHARED_MANUALS, split: str = "all"
) -> tuple[list[Outcome], list[Document]]:
    """The questions of `split` ("tune", "heldout" or "all") asked of the real manuals, and
    the documents they were asked of."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"unknown split {split!r}; expected one of {(*SPLITS, 'all')}")
    products, questions = load_real_set(qa_path)
    chosen = [question for question in questions if split in ("all", question.split)]
    use_cached_embeddings()
    documents = build_documents(products, manuals)
    every = [document for product in documents.values() for document in product]
    return run_real(chosen, products, documents), every
