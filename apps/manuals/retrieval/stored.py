"""A passage index as the bytes the worker stores and a web process loads.

Everything big is a flat array behind a small JSON header, read back with
`numpy.frombuffer`: the unit texts are one UTF-8 blob with offsets, the vocabulary one
newline-separated blob, and the units are built one at a time when they are read. A web
process loads a stored index while it serves sockets, on another thread but under the same
interpreter lock: parsing the units of a 2,000-page index as JSON (format 2) held that lock
for one uninterrupted 126 ms, and building their 25,000 objects for as long again, so every
socket of the process stalled for the first question on a big manual.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from apps.manuals.retrieval.structure import Unit

FORMAT = 3
_MAGIC = b"HSCIX"
# Unit kinds are stored one letter each: heading, step, item, row, sentence.
_KIND_NAMES = {"h": "heading", "s": "step", "i": "item", "r": "row", "t": "sentence"}
_KIND_CODES = {name: code for code, name in _KIND_NAMES.items()}
# The index's own arrays, stored as they are.
_INDEX_ARRAYS = ("lengths", "post_passages", "post_offsets", "post_scores", "passage_weight")


class StoredUnits(Sequence[Unit]):
    """The units of a stored index, kept in the columns they were stored in."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self._text = columns["unit_text"].tobytes()
        self._text_offsets = columns["unit_text_offsets"]
        self._pages = columns["unit_pages"]
        self._page_offsets = columns["unit_page_offsets"]
        self._kinds = columns["unit_kinds"].tobytes().decode("ascii")
        self._sections = columns["unit_sections"]
        self._labels = columns["unit_labels"]
        self._boilerplate = columns["unit_boilerplate"]
        # Answers read the same few units again and again: each is built once.
        self._built: dict[int, Unit] = {}

    def __len__(self) -> int:
        return len(self._kinds)

    @overload
    def __getitem__(self, key: int) -> Unit: ...
    @overload
    def __getitem__(self, key: slice) -> list[Unit]: ...
    def __getitem__(self, key: int | slice) -> Unit | list[Unit]:
        if isinstance(key, slice):
            return [self._unit(position) for position in range(*key.indices(len(self)))]
        position = key + len(self) if key < 0 else key
        if not 0 <= position < len(self):
            raise IndexError(key)
        return self._unit(position)

    def _unit(self, position: int) -> Unit:
        unit = self._built.get(position)
        if unit is None:
            unit = self._built[position] = self._read(position)
        return unit

    def _read(self, position: int) -> Unit:
        text_from, text_to = self._text_offsets[position : position + 2]
        pages_from, pages_to = self._page_offsets[position : position + 2]
        return Unit(
            self._text[text_from:text_to].decode(),
            tuple(self._pages[pages_from:pages_to].tolist()),
            _KIND_NAMES[self._kinds[position]],
            int(self._sections[position]),
            int(self._labels[position]),
            bool(self._boilerplate[position]),
        )


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def _unit_columns(units: Sequence[Unit]) -> dict[str, np.ndarray]:
    texts = [unit.text.encode() for unit in units]
    return {
        "unit_text": np.frombuffer(b"".join(texts), dtype=np.uint8),
        "unit_text_offsets": _offsets([len(text) for text in texts]),
        "unit_pages": np.array([page for unit in units for page in unit.pages], dtype=np.int32),
        "unit_page_offsets": _offsets([len(unit.pages) for unit in units]),
        "unit_kinds": np.frombuffer(
            "".join(_KIND_CODES.get(unit.kind, "t") for unit in units).encode(), dtype=np.uint8
        ),
        "unit_sections": np.array([unit.section for unit in units], dtype=np.int32),
        "unit_labels": np.array([unit.label for unit in units], dtype=np.int32),
        "unit_boilerplate": np.array([unit.boilerplate for unit in units], dtype=np.uint8),
    }


def encode(index: Any) -> bytes:
    """The bytes stored for a built `ManualIndex`."""
    terms = sorted(index.vocabulary, key=index.vocabulary.__getitem__)
    arrays = {
        **{name: getattr(index, name) for name in _INDEX_ARRAYS},
        **_unit_columns(index.units),
        "passages": np.array(index.passages, dtype=np.int32).reshape(-1),
        "vocabulary": np.frombuffer("\n".join(terms).encode(), dtype=np.uint8),
    }
    header: dict[str, Any] = {
        "format": FORMAT,
        "bridge": {"words": index.bridge_words, "terms": index.bridge_terms},
        "arrays": [],
    }
    blobs: list[bytes] = []
    offset = 0
    for name, array in arrays.items():
        data = np.ascontiguousarray(array).tobytes()
        header["arrays"].append([name, array.dtype.str, len(array), offset])
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return _MAGIC + struct.pack("<I", len(encoded)) + encoded + b"".join(blobs)


def decode(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the arrays of stored bytes (ValueError if they are not this format)."""
    if data[: len(_MAGIC)] != _MAGIC:
        raise ValueError("not a stored passage index")
    (length,) = struct.unpack_from("<I", data, len(_MAGIC))
    start = len(_MAGIC) + 4
    header = json.loads(data[start : start + length])
    if header.get("format") != FORMAT:
        raise ValueError(f"stored index format {header.get('format')}, expected {FORMAT}")
    body = memoryview(data)[start + length :]
    arrays = {}
    for name, dtype, count, offset in header["arrays"]:
        size = np.dtype(dtype).itemsize * count
        arrays[name] = np.frombuffer(body[offset : offset + size], dtype=dtype)
    return header, arrays


def fill(index: Any, data: bytes) -> None:
    """Set the attributes of a bare `ManualIndex` from stored bytes."""
    header, arrays = decode(data)
    for name in _INDEX_ARRAYS:
        setattr(index, name, arrays[name])
    index.units = StoredUnits(arrays)
    index.passages = list(map(tuple, arrays["passages"].reshape(-1, 2).tolist()))
    vocabulary = arrays["vocabulary"].tobytes().decode()
    index.vocabulary = {
        term: number for number, term in enumerate(vocabulary.split("\n") if vocabulary else [])
    }
    index.bridge_words = header["bridge"]["words"]
    index.bridge_terms = header["bridge"]["terms"]
