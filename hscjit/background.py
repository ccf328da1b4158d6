"""One way to start background work, and to publish side effects after commit.

Work is named, not imported: `enqueue("apps.manuals.tasks.prefetch_manual", manual_id)`.
Tasks import the services they adapt, so a service that imported its task would close a
cycle. With Celery enabled the name goes to the broker; without it (the embedded default)
the task runs on a thread of this process, so `make run` needs nothing but Python.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task
from django.conf import settings
from django.db import close_old_connections, transaction

from hscjit.celery import app as celery_app

logger = logging.getLogger(__name__)

_local_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hscjit-task")


def registered_task(name: str) -> Task:
    """The task registered under `name`; KeyError when there is none."""
    if name not in celery_app.tasks:
        # A worker imports every app's tasks module when it starts; this process has not
        # needed one yet.
        celery_app.loader.import_default_modules()
    return celery_app.tasks[name]


def _run_locally(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    close_old_connections()
    try:
        registered_task(name).apply(args=args, kwargs=kwargs, throw=False)
    except Exception:
        logger.exception("background task %s failed", name)
    finally:
        close_old_connections()


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Start the task `name` with these arguments once the current transaction commits."""

    def send() -> None:
        if settings.CELERY_ENABLED:
            celery_app.send_task(name, args=args, kwargs=kwargs)
        else:
            _local_pool.submit(_run_locally, name, args, kwargs)

    transaction.on_commit(send)


def after_commit(effect: Callable[[], None]) -> None:
    """Run a side effect other processes must see (a group send) after the commit."""
    transaction.on_commit(effect)
