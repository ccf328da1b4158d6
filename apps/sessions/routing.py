from __future__ import annotations

from channels.sessions import SessionMiddlewareStack
from django.urls import re_path

from apps.sessions.consumers import ChatConsumer

websocket_urlpatterns = [
    # Any id reaches the consumer, so an unknown one is refused with 4404, not a crash. The
    # chat needs the session (its owner) and no user: Channels' auth middleware would read
    # the user from the database on the thread every socket shares, once per handshake.
    re_path(r"^ws/chat/(?P<session_id>[^/]+)/$", SessionMiddlewareStack(ChatConsumer.as_asgi())),
]
