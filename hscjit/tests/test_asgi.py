"""An HTTP request crosses from the event loop to a thread once for its middleware chain."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

from hscjit.asgi import SyncMiddlewareHandler

pytestmark = pytest.mark.django_db(transaction=True)


async def _hops(handler: ASGIHandler, path: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times serving `path` handed work from the loop to a thread."""
    loop = asyncio.get_running_loop()
    handed = 0
    run_in_executor = loop.run_in_executor

    def counted(*args: Any) -> Any:
        nonlocal handed
        handed += 1
        return run_in_executor(*args)

    monkeypatch.setattr(loop, "run_in_executor", counted)
    response = await HttpCommunicator(
        handler, "GET", path, headers=[(b"host", b"localhost")]
    ).get_response(timeout=10)
    monkeypatch.undo()
    assert response["status"] in {200, 302}
    return handed


async def test_the_middleware_chain_runs_in_one_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = await _hops(SyncMiddlewareHandler(), "/chat/", monkeypatch)
    stock = await _hops(ASGIHandler(), "/chat/", monkeypatch)
    # 2 here, 19 with Django's own handler; its signals and the response's close may take
    # hops of their own around the chain.
    assert ours <= 5
    assert stock >= ours + 10, (ours, stock)


async def test_an_async_view_is_still_served(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _hops(SyncMiddlewareHandler(), "/health", monkeypatch) <= 5


def test_the_web_process_collects_young_garbage_less_often() -> None:
    assert gc.get_threshold()[0] == settings.GC_GEN0_THRESHOLD > 700
