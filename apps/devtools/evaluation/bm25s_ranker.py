"""The bm25s library as a `Ranker` over our passages, for `manage.py eval_answers --ranker`.

It ranks the very passages `ManualIndex` built, with the library's documented setup: its own
tokenizer and English stop words, the Snowball English stemmer (PyStemmer) and its default
BM25 (Lucene variant, k1 1.5, b 0.75). With `our_tokens` it is fed our `tokens()` instead,
which separates what the tokenizer is worth from what the scoring is. Only the order of the
passages comes from bm25s; the coverage each hit carries, and so the abstention, is still
measured with our terms.
"""

from __future__ import annotations

import logging

import bm25s
import numpy as np
import Stemmer

from apps.manuals.retrieval import Hit, ManualIndex, tokens

# bm25s sets its logger to DEBUG when imported; hand the level back to the project's LOG_LEVEL.
logging.getLogger("bm25s").setLevel(logging.NOTSET)


class Bm25sRanker:
    def __init__(self, index: ManualIndex, *, our_tokens: bool = False) -> None:
        self.index = index
        self.our_tokens = our_tokens
        self.stemmer = Stemmer.Stemmer("english")
        texts = [index.passage_text(passage) for passage in range(len(index.passages))]
        self.retriever = bm25s.BM25()
        if texts:
            self.retriever.index(self._tokenize(texts), show_progress=False)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        if self.our_tokens:
            return [tokens(text) for text in texts]
        return bm25s.tokenize(
            texts, stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )

    def __call__(self, question: str, weights: dict[str, float], limit: int) -> list[Hit]:
        terms = self._tokenize([question])[0]
        if not terms or not self.index.passages:
            return []
        scores = self.retriever.get_scores(terms)
        # Stable on ties, like our ranker: the earlier passage first.
        best = np.argsort(-scores, kind="stable")[:limit]
        return [
            self.index.hit(int(passage), score=float(scores[passage]), weights=weights)
            for passage in best
            if scores[passage] > 0
        ]
