"""Retrieval over manuals: structured passages, a stemmed BM25 index, embeddings, fusion.

The public surface (synchronous, CPU-bound: callers run it in an executor of their own):

- `load_index(manual_id=, version=)`: the stored index (bounded in-process cache), or
  `IndexNotReady`; `get_index(...)` falls back to a lexical-only index built from the pages;
- `embed_question(text, exclude=names)`: the question's vector without the product's
  name, or None when embeddings are unavailable;
- `apps.manuals.answers.extractive.compose(...)` / `.retrieve(...)` answer and rank across
  the documents of a product.

The worker's side (`build_lexical`, `save_lexical`, `embed_stored`, `index_manual`) is in
`store`; the ingest pipeline calls it after the pages are stored.
"""

from __future__ import annotations

from apps.manuals.retrieval.index import Hit, ManualIndex, Ranker
from apps.manuals.retrieval.store import (
    IndexNotReady,
    clear_cache,
    embed_question,
    get_index,
    index_status,
    load_index,
)
from apps.manuals.retrieval.structure import Unit, split_units
from apps.manuals.retrieval.text import (
    STOPWORDS,
    detect_language,
    product_name_pieces,
    query_weights,
    tokens,
)

Index = ManualIndex

__all__ = [
    "STOPWORDS",
    "Hit",
    "Index",
    "IndexNotReady",
    "ManualIndex",
    "Ranker",
    "Unit",
    "clear_cache",
    "detect_language",
    "embed_question",
    "get_index",
    "index_status",
    "load_index",
    "product_name_pieces",
    "query_weights",
    "split_units",
    "tokens",
]
