"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hscjit.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from hscjit.routing import websocket_urlpatterns  # noqa: E402

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


def websocket_application() -> Any:
    return CloseRefusedHandshakes(
        AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
    )


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_application(),
    }
)
