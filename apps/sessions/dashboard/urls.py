from __future__ import annotations

from django.urls import path

from apps.sessions.dashboard import views

app_name = "content_gaps"

urlpatterns = [path("admin/content-gaps/", views.dashboard, name="dashboard")]
