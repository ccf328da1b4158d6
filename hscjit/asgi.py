"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import gc
import os
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hscjit.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

# Each request and socket leaves cycles (a per-request DatabaseWrapper, Django's request,
# an aborted-request traceback): at 700 allocations a young collection runs while they are
# still alive, they reach the oldest generation, and its full passes over 2,000 sockets
# stopped the loop for up to 400 ms. A larger young generation lets them die young.
gc.set_threshold(settings.GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


class SyncMiddlewareHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain run synchronously, once per request,
    in the request's own thread.

    Under ASGI Django runs each async-capable middleware in async mode, and every
    `MiddlewareMixin` one (sessions, CSRF, locale...) then moves its `process_request` and
    `process_response` to a thread and back: about twenty hops between the event loop and a
    thread per request, where the views, all but the health checks, are synchronous anyway.
    Here the whole chain runs in one hop; an async view (`/health`) is awaited from it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django_asgi_app = SyncMiddlewareHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402
from django.urls import re_path  # noqa: E402

from apps.sessions.embed import site_origins  # noqa: E402
from apps.sessions.origins import normalise_origin  # noqa: E402
from hscjit.daphne_factory import close_failed_websockets  # noqa: E402
from hscjit.pools import on_pool  # noqa: E402
from hscjit.routing import websocket_urlpatterns  # noqa: E402

# Before daphne builds its WebSocket factory: a frame over the size limit closes with 1009.
close_failed_websockets()

CLOSE_REFUSED = 4403


class CloseRefusedHandshakes:
    """A socket refused before its handshake (Channels' origin check does that, which a client
    sees as a bare HTTP 403) is accepted and closed with 4403 instead, as PROTOCOL.md says, so
    every client can tell a refusal from a network failure."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        accepted = False

        async def send_or_refuse(message: dict[str, Any]) -> None:
            nonlocal accepted
            if message["type"] == "websocket.close" and not accepted:
                await send({"type": "websocket.accept"})
                message = {"type": "websocket.close", "code": CLOSE_REFUSED}
            accepted = accepted or message["type"] in {"websocket.accept", "websocket.close"}
            await send(message)

        return await self.application(scope, receive, send_or_refuse)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def socket_origin(scope: dict[str, Any]) -> str | None:
    """The origin of the page this socket belongs to: its scheme, Host and port.

    Behind a proxy that ends TLS the socket arrives as ws://, and SECURE_PROXY_SSL_HEADER
    (the header Django already trusts for request.is_secure()) says the page was https.
    """
    host = _header(scope, b"host")
    if not host or not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        forwarded = _header(scope, name.removeprefix("HTTP_").replace("_", "-").lower().encode())
        secure = secure or (forwarded or "").split(",")[0].strip() == value
    try:
        return normalise_origin(f"{'https' if secure else 'http'}://{host}")
    except ValueError:
        return None


class SameOriginValidator:
    """Accept a handshake only from a page of this site: the Origin header must equal the
    socket's own origin, or a CSRF_TRUSTED_ORIGINS entry, in scheme, host and port alike."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if self.allowed(scope) or await self.embedding_site(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    @staticmethod
    async def embedding_site(scope: dict[str, Any]) -> bool:
        """A page of a shop that embeds the chat (a Site's allowed origin) may open it too."""
        try:
            origin = normalise_origin(_header(scope, b"origin") or "")
        except ValueError:
            return False
        return origin in await on_pool(site_origins)()

    @staticmethod
    def allowed(scope: dict[str, Any]) -> bool:
        try:
            origin = normalise_origin(_header(scope, b"origin") or "")
        except ValueError:
            return False
        trusted = set()
        for entry in settings.CSRF_TRUSTED_ORIGINS:
            try:
                trusted.add(normalise_origin(entry))
            except ValueError:
                continue  # a wildcard entry: subdomains never open the chat socket
        return origin == socket_origin(scope) or origin in trusted


CLOSE_NOT_FOUND = 4404


async def no_such_socket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A path no route serves: closed with 4404 (as for an unknown chat), where URLRouter's
    ValueError would give HTTP 500 and an ERROR traceback per request."""
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND})


def websocket_application() -> Any:
    routes = [*websocket_urlpatterns, re_path(r"", no_such_socket)]
    # Each route brings the middleware it needs (sessions for the chat, auth for the console).
    return CloseRefusedHandshakes(SameOriginValidator(URLRouter(routes)))


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application(),
    }
)
