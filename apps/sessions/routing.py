from __future__ import annotations

from django.urls import re_path

from apps.sessions.consumers import ChatConsumer

websocket_urlpatterns = [
    # Any id reaches the consumer, so an unknown one is refused with 4404, not a crash.
    re_path(r"^ws/chat/(?P<session_id>[^/]+)/$", ChatConsumer.as_asgi()),
]
