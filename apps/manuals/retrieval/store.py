"""Stored passage indexes: built and embedded by the worker, loaded (and cached) by web processes.

The worker builds the lexical index right after extraction and stores it with the pages, so
the manual is answerable at once; it then embeds the passages and stores the vectors, and the
manual becomes hybrid. A web process only loads: `load_index` reads the row (one query,
`numpy.frombuffer` on its bytes) and keeps it in a bounded `hscjit.cache.LocalLRU` of this
process, keyed by the manual's version (a new version is a new key; nothing is invalidated).
A lexical-only entry is the one thing that changes under its key: it looks for the stored
embeddings every _RECHECK_SECONDS. A manual indexed
before indexes were stored has no row: `get_index` then builds a lexical-only index from its
pages (the caller runs it off the event loop), says so in the log, and queues the backfill.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

from apps.manuals.embeddings import Embedder, EmbeddingError, get_embedder
from apps.manuals.retrieval.index import ManualIndex
from apps.manuals.retrieval.stored import FORMAT
from apps.manuals.retrieval.text import without_names
from hscjit import cache
from hscjit.background import enqueue

logger = logging.getLogger(__name__)

# How often a cached lexical-only index looks for the embeddings the worker may have stored.
_RECHECK_SECONDS = 5.0
_EMBED_BATCH = 64


class IndexNotReady(LookupError):
    """No stored index for this manual version (not ingested yet, or ingested before
    indexes were stored: run `manage.py index_manuals`)."""


@dataclass
class _Entry:
    index: ManualIndex
    hybrid: bool
    checked: float


# (manual id, manual version) -> _Entry
_indexes = cache.LocalLRU(settings.MANUAL_INDEX_CACHE_SIZE)


def clear_cache() -> None:
    _indexes.clear()


def _from_row(row: object, *, manual_id: int, version: int) -> ManualIndex:
    index = ManualIndex.from_bytes(bytes(row.lexical), manual_id=manual_id, version=version)  # type: ignore[attr-defined]
    if row.state == "hybrid" and row.embeddings:  # type: ignore[attr-defined]
        matrix = np.frombuffer(bytes(row.embeddings), dtype=np.float16).reshape(  # type: ignore[attr-defined]
            -1,
            row.embedding_dim,  # type: ignore[attr-defined]
        )
        attach_embeddings(index, matrix, model=row.embedding_model)  # type: ignore[attr-defined]
    return index


def embedding_matrix(
    index: ManualIndex, embedder: Embedder, *, progress: Callable[[int], bool] | None = None
) -> np.ndarray | None:
    """What is stored for an index: its passages' vectors, then its bridge words' (float32).

    `progress(passages done)` is called after each batch; when it returns False the work
    stops and None is returned. Raises EmbeddingError.
    """
    texts = index.embedding_texts()
    parts: list[np.ndarray] = []
    for start in range(0, len(texts), _EMBED_BATCH):
        parts.append(embedder.embed_passages(texts[start : start + _EMBED_BATCH]))
        if progress is not None and not progress(min(len(texts), start + _EMBED_BATCH)):
            return None
    # A bridge word is a few tokens: all of them cost a fraction of the passages.
    words = index.bridge_words
    for start in range(0, len(words), _EMBED_BATCH * 4):
        parts.append(embedder.embed_queries(words[start : start + _EMBED_BATCH * 4]))
    dim = max((part.shape[1] for part in parts), default=0)
    if not dim:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([part.reshape(-1, dim) for part in parts]).astype(np.float32)


def attach_embeddings(index: ManualIndex, matrix: np.ndarray, *, model: str) -> None:
    """Give an index its stored vectors: the passages' rows, then the bridge words' (an index
    stored without them, or with another vocabulary, is simply not bridged)."""
    passages = len(index.passages)
    words = matrix[passages:]
    index.set_embeddings(
        matrix[:passages],
        model=model,
        words=words if len(words) == len(index.bridge_words) else None,
    )


_ROW_FIELDS = ("format", "state", "lexical", "embeddings", "embedding_model", "embedding_dim")


def _read_row(*, manual_id: int, version: int) -> SimpleNamespace | None:
    """The stored row's fields that loading needs.

    On PostgreSQL the row comes in binary: a 2,000-page index is about 10 MB, and psycopg's
    decoding of bytea's hex text form held the interpreter lock for up to 30 ms at a stretch
    (2-8 ms in binary), which every socket of the process waited for.
    """
    from apps.manuals.models import ManualIndexData

    if connection.vendor != "postgresql":
        found = ManualIndexData.objects.filter(manual_id=manual_id, version=version)
        values = found.values_list(*_ROW_FIELDS).first()
    else:
        query = sql.SQL("SELECT {} FROM {} WHERE manual_id = %s AND version = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, _ROW_FIELDS)),
            sql.Identifier(ManualIndexData._meta.db_table),
        )
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(query, [manual_id, version], binary=True)
            values = cursor.fetchone()
    return (
        None if values is None else SimpleNamespace(**dict(zip(_ROW_FIELDS, values, strict=True)))
    )


def load_index(*, manual_id: int, version: int) -> ManualIndex:
    """The stored index of this manual version (cached); IndexNotReady when none is stored."""
    from apps.manuals.models import ManualIndexData

    key = (manual_id, version)
    entry: _Entry | None = _indexes.get(key)
    now = time.monotonic()
    if entry is not None and (entry.hybrid or now - entry.checked < _RECHECK_SECONDS):
        return entry.index
    if entry is not None and not entry.hybrid:
        upgraded = ManualIndexData.objects.filter(
            manual_id=manual_id, version=version, state=ManualIndexData.State.HYBRID
        ).exists()
        if not upgraded:
            entry.checked = now
            return entry.index
    row = _read_row(manual_id=manual_id, version=version)
    if row is None or row.format != FORMAT:
        raise IndexNotReady(f"manual {manual_id} v{version} has no stored index")
    index = _from_row(row, manual_id=manual_id, version=version)
    _indexes.set(key, _Entry(index, hybrid=index.embeddings is not None, checked=now))
    return index


def get_index(*, manual_id: int, version: int) -> ManualIndex:
    """The stored index, or a lexical-only one built from the pages when none is stored.

    The fallback costs about a second per thousand pages of CPU, so callers run this in an
    executor of their own, never on the event loop.
    """
    try:
        return load_index(manual_id=manual_id, version=version)
    except IndexNotReady:
        pass
    from apps.manuals.models import ManualPage

    logger.warning(
        "manual %s v%s: no stored index; building a lexical-only one from its pages",
        manual_id,
        version,
    )
    pages = list(
        ManualPage.objects.filter(manual_id=manual_id)
        .order_by("number")
        .values_list("number", "text")
    )
    index = ManualIndex(manual_id=manual_id, version=version, pages=pages)
    _indexes.set((manual_id, version), _Entry(index, hybrid=False, checked=time.monotonic()))
    _request_backfill(manual_id)
    return index


def _request_backfill(manual_id: int) -> None:
    try:
        enqueue("apps.manuals.tasks.build_manual_index", manual_id)
    except Exception:  # a broker outage must not cost the customer the answer
        logger.exception("manual %s: could not queue the index backfill", manual_id)


# --- The worker's side --------------------------------------------------------------------


def build_lexical(*, manual_id: int, version: int, pages: Sequence[tuple[int, str]]) -> ManualIndex:
    return ManualIndex(manual_id=manual_id, version=version, pages=pages)


def save_lexical(*, manual_id: int, index: ManualIndex, seconds: float) -> None:
    """Store (or replace) the manual's index row with this lexical index, not yet embedded."""
    from apps.manuals.models import ManualIndexData

    ManualIndexData.objects.update_or_create(
        manual_id=manual_id,
        defaults={
            "version": index.version,
            "format": FORMAT,
            "state": ManualIndexData.State.LEXICAL,
            "passages": len(index.passages),
            "lexical": index.to_bytes(),
            "embeddings": None,
            "embedding_model": "",
            "embedding_dim": 0,
            "embedded_passages": 0,
            "embedding_error": "",
            "lexical_seconds": seconds,
            "embedding_seconds": None,
            "built_at": timezone.now(),
            "embedded_at": None,
        },
    )


def embed_stored(*, manual_id: int, version: int, embedder: Embedder | None = None) -> bool:
    """Embed the passages and the bridge words of the stored index of this version; True
    when it became hybrid. The stored matrix holds the passages' rows, then the words'.

    Progress is written as it goes (`embedded_passages`); a newer version stored meanwhile
    wins, and an embedding failure leaves the manual lexical with the reason recorded.
    """
    from apps.manuals.models import ManualIndexData

    row = ManualIndexData.objects.filter(manual_id=manual_id, version=version).first()
    if row is None:
        return False
    if row.state == ManualIndexData.State.HYBRID:
        return True
    index = ManualIndex.from_bytes(bytes(row.lexical), manual_id=manual_id, version=version)
    started = time.perf_counter()
    current = ManualIndexData.objects.filter(manual_id=manual_id, version=version)
    try:
        embedder = embedder or get_embedder()
        # A newer version that replaced this one stops the work (no row left to update).
        matrix = embedding_matrix(
            index, embedder, progress=lambda done: bool(current.update(embedded_passages=done))
        )
        if matrix is None:
            return False
        dim = matrix.shape[1]
    except EmbeddingError as exc:
        logger.warning("manual %s v%s: not embedded, stays lexical: %s", manual_id, version, exc)
        current.update(embedding_error=str(exc)[:1000])
        return False
    seconds = time.perf_counter() - started
    updated = current.update(
        state=ManualIndexData.State.HYBRID,
        embeddings=matrix.astype(np.float16).tobytes(),
        embedding_model=embedder.name,
        embedding_dim=dim,
        embedded_passages=len(index.passages),
        embedding_error="",
        embedding_seconds=seconds,
        embedded_at=timezone.now(),
    )
    logger.info(
        "manual %s v%s: %s passages and %s bridge words embedded in %.1f s",
        manual_id,
        version,
        len(index.passages),
        len(index.bridge_words),
        seconds,
    )
    return bool(updated)


def index_manual(*, manual_id: int) -> bool:
    """Build and embed the index of a ready manual whose current version has none (backfill)."""
    from apps.manuals.models import Manual, ManualIndexData, ManualPage

    manual = Manual.objects.filter(pk=manual_id, status=Manual.Status.READY).first()
    if manual is None:
        return False
    stored = ManualIndexData.objects.filter(
        manual_id=manual_id, version=manual.version, format=FORMAT
    ).first()
    if stored is None:
        started = time.perf_counter()
        pages = list(
            ManualPage.objects.filter(manual_id=manual_id)
            .order_by("number")
            .values_list("number", "text")
        )
        index = build_lexical(manual_id=manual_id, version=manual.version, pages=pages)
        save_lexical(manual_id=manual_id, index=index, seconds=time.perf_counter() - started)
    return embed_stored(manual_id=manual_id, version=manual.version)


def index_status(*, manual_id: int, version: int) -> dict[str, object]:
    """How far the index of this version is: missing, lexical (with embedding progress), hybrid."""
    from apps.manuals.models import ManualIndexData

    row = (
        ManualIndexData.objects.filter(manual_id=manual_id, version=version)
        .only("state", "passages", "embedded_passages", "embedding_error")
        .first()
    )
    if row is None:
        return {"state": "missing", "progress": 0.0, "error": ""}
    return {
        "state": row.state,
        "progress": row.embedding_progress,
        "error": row.embedding_error,
    }


# --- The question's side ------------------------------------------------------------------


# (embedder name, question or word) -> vector
_query_vectors = cache.LocalLRU(4096)


def _query_vectors_of(texts: Sequence[str]) -> list[np.ndarray]:
    """Query vectors of `texts`, one batch for those not embedded lately: customers reuse
    their words, and a follow-up's context is the question embedded one turn before."""
    embedder = get_embedder()
    known = {text: _query_vectors.get((embedder.name, text)) for text in texts}
    missing = [text for text, vector in known.items() if vector is None]
    if missing:
        for text, vector in zip(missing, embedder.embed_queries(missing), strict=True):
            known[text] = vector
            _query_vectors.set((embedder.name, text), vector)
    return [known[text] for text in texts]


def embed_question(text: str, *, exclude: Iterable[str] = ()) -> np.ndarray | None:
    """The question's vector, or None (then retrieval is lexical only, and the log says so).

    The words that name the product (`exclude`: its names) are left out: the product is
    chosen already, and a vector that holds its name leans to the passages that say it (an
    introduction) instead of the ones about what is asked.
    """
    try:
        return _query_vectors_of([without_names(text, exclude=exclude)])[0]
    except EmbeddingError as exc:
        logger.warning("question not embedded, answering lexically: %s", exc)
        return None


def embed_words(words: Sequence[str]) -> np.ndarray | None:
    """The vectors of question words to bridge, or None when embeddings are unavailable."""
    if not words:
        return None
    try:
        return np.vstack(_query_vectors_of(words))
    except EmbeddingError as exc:
        logger.warning("question words not embedded, not bridged: %s", exc)
        return None
