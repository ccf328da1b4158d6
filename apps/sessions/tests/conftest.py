from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.sessions import predictions
from apps.sessions.consumers import chat
from apps.sessions.tests.sockets import (
    communicator,
    make_catalog,
    make_chat,
    refresh_manual_states,
)


@pytest.fixture
async def catalog(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Three Boss products, the consumer predicting from them, prefetches recorded not queued."""
    made = await make_catalog()
    monkeypatch.setattr(predictions, "get_index", lambda: made["index"])
    # Manual states read in an earlier test (ids repeat on SQLite) must not leak into this one.
    await database_sync_to_async(refresh_manual_states)()
    prefetches: list[int] = []

    def request_prefetch(*, manual_id: int) -> bool:
        prefetches.append(manual_id)
        return True

    monkeypatch.setattr(chat, "request_prefetch", request_prefetch)
    made["prefetches"] = prefetches
    return made


@pytest.fixture
async def socket(catalog: dict[str, Any]) -> AsyncIterator[WebsocketCommunicator]:
    chat, key = await make_chat()
    comm = communicator(chat.pk, key)
    connected, _ = await comm.connect()
    assert connected
    comm.chat = chat
    yield comm
    await comm.disconnect()
