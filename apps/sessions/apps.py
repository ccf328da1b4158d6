from __future__ import annotations

from django.apps import AppConfig


class ChatSessionsConfig(AppConfig):
    name = "apps.sessions"
    # "sessions" belongs to django.contrib.sessions.
    label = "chat"
    verbose_name = "Conversations"
