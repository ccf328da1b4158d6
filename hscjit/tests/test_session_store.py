"""New sessions are inserted without reading the table first, and still never share a key."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hscjit.session_store import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_is_inserted_without_a_lookup() -> None:
    with CaptureQueriesContext(connection) as queries:
        SessionStore().create()
    statements = [query["sql"].split()[0].upper() for query in queries.captured_queries]
    assert "INSERT" in statements
    assert "SELECT" not in statements


def test_a_taken_key_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = SessionStore()
    taken.create()
    draws = iter([taken.session_key, "b" * 32])
    monkeypatch.setattr("hscjit.session_store.get_random_string", lambda *_: next(draws))
    fresh = SessionStore()
    fresh.create()
    assert fresh.session_key == "b" * 32
    assert SessionStore(session_key=taken.session_key).exists(taken.session_key)


def test_a_new_session_is_not_written_again_unchanged_but_a_change_is() -> None:
    store = SessionStore()
    store.save()  # a first visit's key, as chat_start asks for it
    with CaptureQueriesContext(connection) as queries:
        store.save()
    assert queries.captured_queries == []
    store["lang"] = "he"
    store.save()
    assert SessionStore(session_key=store.session_key).load() == {"lang": "he"}
    store["lang"] = "en"
    store.save()
    assert SessionStore(session_key=store.session_key).load() == {"lang": "en"}


def test_a_value_changed_in_place_after_creation_is_saved() -> None:
    store = SessionStore()
    store["seen"] = []
    store.create()
    store["seen"].append("p1")
    store.modified = True
    store.save()
    assert SessionStore(session_key=store.session_key).load() == {"seen": ["p1"]}
