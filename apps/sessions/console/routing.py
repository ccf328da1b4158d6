from __future__ import annotations

from django.urls import path

from apps.sessions.console.consumers import ConsoleConsumer

websocket_urlpatterns = [path("ws/support/", ConsoleConsumer.as_asgi())]
