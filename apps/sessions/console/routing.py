from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from django.urls import path

from apps.sessions.console.consumers import ConsoleConsumer

# Staff only: the console reads the logged-in user.
websocket_urlpatterns = [path("ws/support/", AuthMiddlewareStack(ConsoleConsumer.as_asgi()))]
