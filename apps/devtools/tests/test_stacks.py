"""py-spy stacks land in the bucket of their innermost named frame."""

from __future__ import annotations

import pytest

from apps.devtools import stacks

RAW = [
    "thread (1): MainThread;run (asyncio/base_events.py:607);_predict (apps/sessions/"
    "consumers.py:385);dumps (json/__init__.py:238) 3\n",
    "thread (1): MainThread;run (asyncio/base_events.py:607);_predict (apps/sessions/"
    "consumers.py:387);predict (apps/products/prediction/index.py:317) 1\n",
    "thread (2): asyncio_0;run (threading.py:982);execute (psycopg/cursor.py:113) 4\n",
    "thread (1): MainThread;<module> (something.py:1) 2\n",
    "\n",
]


def test_each_sample_counts_once_for_its_innermost_named_frame() -> None:
    total, found = stacks.shares(RAW)
    assert total == 10
    assert found == [
        ("database (psycopg, ORM)", 0.4),
        ("JSON", 0.3),
        ("other", 0.2),
        ("prediction index", 0.1),
    ]


def test_one_thread_can_be_looked_at_alone() -> None:
    total, found = stacks.shares(RAW, thread="MainThread")
    assert total == 6
    assert dict(found)["JSON"] == pytest.approx(0.5)
