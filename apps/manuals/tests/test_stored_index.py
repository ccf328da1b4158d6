"""The stored passage index: what a web process loads is the index the worker built."""

from __future__ import annotations

import importlib
import json
import struct

import numpy as np

from apps.manuals.retrieval import stored
from apps.manuals.retrieval.index import ManualIndex
from apps.manuals.retrieval.search import build_query, rank
from apps.manuals.tests.test_hybrid_retrieval import RESET_PAGES

PAGES = [
    *RESET_PAGES,
    (11, "Sécurité\nNe pas ouvrir l'appareil.\nA. Volume knob\nB. Tone knob"),
    (12, ""),
]


def _same(loaded: ManualIndex, built: ManualIndex) -> None:
    assert list(loaded.units) == list(built.units)
    assert loaded.units[-1] == built.units[-1] and loaded.units[1:3] == built.units[1:3]
    assert loaded.passages == built.passages
    assert loaded.vocabulary == built.vocabulary
    assert (loaded.bridge_words, loaded.bridge_terms) == (built.bridge_words, built.bridge_terms)
    for name in ("lengths", "post_passages", "post_offsets", "post_scores", "passage_weight"):
        assert np.array_equal(getattr(loaded, name), getattr(built, name))
    query = build_query(question="how do I restore the factory settings")
    assert rank([loaded], query, limit=3) == rank([built], query, limit=3)


def test_a_stored_index_loads_back_unit_for_unit() -> None:
    built = ManualIndex(manual_id=1, version=1, pages=PAGES)
    data = built.to_bytes()
    loaded = ManualIndex.from_bytes(data, manual_id=1, version=1)
    _same(loaded, built)
    # The units are read from the stored columns, not parsed and built at load.
    assert isinstance(loaded.units, stored.StoredUnits) and len(loaded.units) == len(built.units)


def _format_2(index: ManualIndex) -> bytes:
    """The bytes the previous release stored: the units as JSON in the header."""
    units = index.units
    header = {
        "format": 2,
        "units": {
            "text": [unit.text for unit in units],
            "pages": [list(unit.pages) for unit in units],
            "kind": "".join(
                {"heading": "h", "step": "s", "item": "i", "row": "r"}.get(u.kind, "t")
                for u in units
            ),
            "section": [unit.section for unit in units],
            "label": [unit.label for unit in units],
            "boilerplate": [int(unit.boilerplate) for unit in units],
        },
        "passages": [list(passage) for passage in index.passages],
        "vocabulary": sorted(index.vocabulary, key=index.vocabulary.__getitem__),
        "bridge": {"words": index.bridge_words, "terms": index.bridge_terms},
        "arrays": [],
    }
    blobs, offset = [], 0
    for name in ("lengths", "post_passages", "post_offsets", "post_scores", "passage_weight"):
        array = getattr(index, name)
        header["arrays"].append([name, array.dtype.str, len(array), offset])
        blobs.append(array.tobytes())
        offset += len(blobs[-1])
    encoded = json.dumps(header).encode()
    return b"HSCIX" + struct.pack("<I", len(encoded)) + encoded + b"".join(blobs)


def test_the_migration_rewrites_a_format_2_index_without_touching_its_passages() -> None:
    migration = importlib.import_module("apps.manuals.migrations.0009_stored_index_format_3")
    built = ManualIndex(manual_id=1, version=1, pages=PAGES)
    rewritten = stored.encode(migration._format_2(_format_2(built)))
    _same(ManualIndex.from_bytes(rewritten, manual_id=1, version=1), built)
