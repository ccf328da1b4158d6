"""Where a socket's blocking work runs.

Channels' `database_sync_to_async` runs everything on one thread that all sockets of a
process share, so one slow query there stalls every customer. Short database work of the
sockets runs on the loop's thread pool instead, each call handing its connection back at
once (pool threads are many and long-lived); CPU-heavy work has executors of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django import db

T = TypeVar("T")


def on_pool(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        finally:
            db.connection.close()

    return sync_to_async(run, thread_sensitive=False)
