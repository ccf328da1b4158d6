"""Stored passage indexes move from format 2 (the units as JSON) to format 3 (flat columns).

Only the lexical bytes are rewritten: the passages stay the same, so the stored embeddings
stay valid and no manual is embedded again. Format 2 is read here and nowhere else.
"""

from __future__ import annotations

import json
import struct
from types import SimpleNamespace

import numpy as np
from django.db import migrations

_MAGIC = b"HSCIX"
_KIND_NAMES = {"h": "heading", "s": "step", "i": "item", "r": "row", "t": "sentence"}
_ARRAYS = ("lengths", "post_passages", "post_offsets", "post_scores", "passage_weight")


def _format_2(data: bytes) -> SimpleNamespace:
    from apps.manuals.retrieval.structure import Unit

    (length,) = struct.unpack_from("<I", data, len(_MAGIC))
    start = len(_MAGIC) + 4
    header = json.loads(data[start : start + length])
    body = memoryview(data)[start + length :]
    arrays = {}
    for name, dtype, count, offset in header["arrays"]:
        size = np.dtype(dtype).itemsize * count
        arrays[name] = np.frombuffer(body[offset : offset + size], dtype=dtype)
    units = header["units"]
    columns = zip(
        units["text"],
        units["pages"],
        units["kind"],
        units["section"],
        units["label"],
        units["boilerplate"],
        strict=True,
    )
    return SimpleNamespace(
        units=[
            Unit(text, tuple(pages), _KIND_NAMES[kind], section, label, bool(flag))
            for text, pages, kind, section, label, flag in columns
        ],
        passages=[tuple(passage) for passage in header["passages"]],
        vocabulary={term: number for number, term in enumerate(header["vocabulary"])},
        bridge_words=header["bridge"]["words"],
        bridge_terms=header["bridge"]["terms"],
        **{name: arrays[name] for name in _ARRAYS},
    )


def rewrite(apps, schema_editor):
    from apps.manuals.retrieval import stored

    ManualIndexData = apps.get_model("manuals", "ManualIndexData")
    for row in ManualIndexData.objects.filter(format=2).iterator(chunk_size=20):
        row.lexical = stored.encode(_format_2(bytes(row.lexical)))
        row.format = stored.FORMAT
        row.save(update_fields=["lexical", "format"])


class Migration(migrations.Migration):
    dependencies = [("manuals", "0008_editors_document_tools")]

    # Back to format 2 is not written: older code rebuilds an index it cannot read.
    operations = [migrations.RunPython(rewrite, migrations.RunPython.noop)]
