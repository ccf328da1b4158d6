from __future__ import annotations

from django.conf import settings
from django.urls import path

from apps.sessions.console.routing import websocket_urlpatterns as console_patterns
from apps.sessions.routing import websocket_urlpatterns as chat_patterns

websocket_urlpatterns = [*chat_patterns, *console_patterns]
if settings.BENCH_ECHO:
    # Imported only here: the benchmarks' echo is development tooling, not the product.
    from apps.devtools.echo import EchoConsumer

    websocket_urlpatterns.append(path("ws/echo/", EchoConsumer.as_asgi()))
