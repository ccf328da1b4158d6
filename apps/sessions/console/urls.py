from __future__ import annotations

from django.urls import path

from apps.sessions.console import views

app_name = "support"

urlpatterns = [path("support/", views.console_page, name="console")]
