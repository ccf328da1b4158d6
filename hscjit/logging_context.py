"""Context for log records: who and what the current work is about.

The fields live in a context variable, so they follow a request through asyncio tasks and
asgiref's thread hops, and every record logged meanwhile carries them (hscjit/logs.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from inspect import iscoroutinefunction
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponse

_fields: ContextVar[Mapping[str, str]] = ContextVar("hscjit_log_context", default={})  # noqa: B039

# Names a formatter already writes; a context field must not overwrite them.
RESERVED = frozenset({"timestamp", "level", "logger", "message", "exc_info", "stack_info"})


def current() -> Mapping[str, str]:
    """The fields in effect here."""
    return _fields.get()


def bind(**fields: object) -> Token[Mapping[str, str]]:
    """Add fields until `unbind(token)`; for hooks that cannot wrap the work in a `with`."""
    clashing = RESERVED.intersection(fields)
    if clashing:
        raise ValueError(f"log context fields {sorted(clashing)} are reserved")
    added = {name: str(value) for name, value in fields.items() if value is not None}
    return _fields.set({**_fields.get(), **added})


def unbind(token: Token[Mapping[str, str]]) -> None:
    _fields.reset(token)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Records logged inside carry these fields (None values are left out)."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Puts a request id into the log context and echoes it in the `X-Request-ID` header."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        request_id = request.request_id = request_id_for(request)  # type: ignore[attr-defined]
        with log_context(request_id=request_id):
            response: HttpResponse = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        request_id = request.request_id = request_id_for(request)  # type: ignore[attr-defined]
        with log_context(request_id=request_id):
            response: HttpResponse = await self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
