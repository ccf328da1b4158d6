"""JSON lines on stdout for every process (web, consumers, Celery), one record per line.

A record carries timestamp, level, logger and message, the log context in effect
(hscjit/logging_context.py), and an exception's whole traceback as one string field.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from contextvars import Token
from datetime import UTC, datetime
from typing import Any, TextIO

from hscjit.logging_context import RESERVED, bind, current, unbind

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(current())
        # Django logs a failed response after the middleware's context has ended, but the
        # record carries the request, which the middleware tagged.
        request_id = getattr(getattr(record, "request", None), "request_id", None)
        if request_id and "request_id" not in payload:
            payload["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in RESERVED and not name.startswith("_"):
                payload[name] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` is at the time, so redirections (tests) see the lines."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        # StreamHandler assigns its stream; this handler always follows sys.stdout instead.
        pass


_task_tokens: dict[str, Token[Any]] = {}


def _task_started(*, task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_tokens[task_id] = bind(task_id=task_id)


def _task_finished(*, task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        # postrun may run in another context than prerun; that context dies with the task.
        with contextlib.suppress(ValueError):
            unbind(token)


def _use_django_logging(**kwargs: Any) -> None:
    # Having a receiver makes Celery leave logging alone: the LOGGING from settings (already
    # applied by django.setup) stays the only configuration, so nothing is logged twice.
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


def connect_celery_signals() -> None:
    """Log Celery workers like the web processes, with the task id in every record."""
    from celery import signals

    signals.setup_logging.connect(_use_django_logging, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
