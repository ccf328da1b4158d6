"""Predicting which product a customer means while they type (see index.py)."""

from __future__ import annotations

from apps.products.prediction.index import (
    CONFIDENT_SCORE,
    Candidate,
    CatalogRecord,
    PredictionIndex,
)
from apps.products.prediction.registry import build_index, get_index, refresh_index

__all__ = [
    "CONFIDENT_SCORE",
    "Candidate",
    "CatalogRecord",
    "PredictionIndex",
    "build_index",
    "get_index",
    "refresh_index",
]
