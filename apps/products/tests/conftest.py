from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache


@pytest.fixture
def catalogs_dir() -> Path:
    default = Path(settings.BASE_DIR).parent / "shared" / "catalogs"
    path = Path(os.environ.get("HSCJIT_CATALOGS_DIR", default))
    if not path.is_dir():
        pytest.skip(f"shared catalogs not found at {path} (set HSCJIT_CATALOGS_DIR)")
    return path


WriteCatalog = Callable[..., Path]


@pytest.fixture
def write_catalog(tmp_path: Path) -> WriteCatalog:
    """Write a small catalog file in the shared schema and return its path."""

    def write(
        name: str,
        products: list[Any],
        *,
        brand: dict[str, Any] | None = None,
        raw: str | None = None,
    ) -> Path:
        path = tmp_path / name
        if raw is not None:
            path.write_text(raw)
            return path
        identity = brand or {"id": "acme", "name": "Acme", "website": "https://acme.example.org"}
        path.write_text(json.dumps({"brand_identity": identity, "products": products}))
        return path

    return write


def product(catalog_id: str, name: str = "", **fields: Any) -> dict[str, Any]:
    return {"id": catalog_id, "name": name or catalog_id.title(), "brand": "acme", **fields}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # The catalog version lives in the cache; a value left by another test would leak into this.
    cache.clear()
