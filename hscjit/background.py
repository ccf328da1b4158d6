"""One way to start background work, and to publish side effects after commit.

With Celery enabled a task goes to the broker; without it (the embedded default) the task
runs on a thread of this process, so `make run` needs nothing but Python.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

_local_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hscjit-task")


def _run_locally(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    close_old_connections()
    try:
        task.apply(args=args, kwargs=kwargs, throw=False)
    except Exception:
        logger.exception("background task %s failed", task.name)
    finally:
        close_old_connections()


def enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    """Start `task(*args, **kwargs)` in the background once the current transaction commits."""

    def send() -> None:
        if settings.CELERY_ENABLED:
            task.delay(*args, **kwargs)
        else:
            _local_pool.submit(_run_locally, task, args, kwargs)

    transaction.on_commit(send)


def after_commit(effect: Callable[[], None]) -> None:
    """Run a side effect other processes must see (a group send) after the commit."""
    transaction.on_commit(effect)
