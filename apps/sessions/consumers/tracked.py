"""The tasks a socket starts, kept in one place so that its close ends every one of them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TrackedTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def start(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run `work` as a task of this socket; None (and `work` is dropped) once closed."""
        if self._closed:
            work.close()
            return None
        task = asyncio.create_task(work)
        # A strong reference until it ends: the event loop keeps only weak ones.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_all(self) -> None:
        """Cancel every task and wait for each to end, so none ends (or fails) unobserved
        after the socket; tasks started meanwhile are dropped."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
