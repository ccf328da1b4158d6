from __future__ import annotations

from apps.sessions.console.routing import websocket_urlpatterns as console_patterns
from apps.sessions.routing import websocket_urlpatterns as chat_patterns

websocket_urlpatterns = [*chat_patterns, *console_patterns]
