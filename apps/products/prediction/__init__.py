"""Predicting which product a customer means while they type (see index.py)."""

from __future__ import annotations

from apps.products.prediction.index import Candidate, CatalogRecord, PredictionIndex
from apps.products.prediction.registry import IndexHolder, get_index, refresh_index

__all__ = [
    "Candidate",
    "CatalogRecord",
    "IndexHolder",
    "PredictionIndex",
    "get_index",
    "refresh_index",
]
