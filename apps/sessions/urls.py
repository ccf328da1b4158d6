from __future__ import annotations

from django.urls import path

from apps.sessions import views

app_name = "chat"

urlpatterns = [
    path("", views.home, name="home"),
    path("chat/", views.chat_start, name="start"),
    path("embed/start", views.embed_start, name="embed_start"),
    path("embed.js", views.embed_script, name="embed_script"),
    path("chat/<uuid:session_id>/", views.chat_page, name="page"),
    path("chat/<uuid:session_id>/messages", views.chat_messages, name="messages"),
    path("chat/<uuid:session_id>/ask", views.chat_ask, name="ask"),
    path("chat/<uuid:session_id>/feedback", views.chat_feedback, name="feedback"),
    path("chat/<uuid:session_id>/language", views.chat_language, name="language"),
]
