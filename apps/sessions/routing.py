from __future__ import annotations

from django.conf import settings
from django.urls import path, re_path

from apps.sessions.consumers import ChatConsumer, EchoConsumer

websocket_urlpatterns = [
    # Any id reaches the consumer, so an unknown one is refused with 4404, not a crash.
    re_path(r"^ws/chat/(?P<session_id>[^/]+)/$", ChatConsumer.as_asgi()),
]
if settings.BENCH_ECHO:
    websocket_urlpatterns.append(path("ws/echo/", EchoConsumer.as_asgi()))
