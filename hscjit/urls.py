from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django_prometheus.exports import ExportToDjangoView

from hscjit.health import ReadyView, health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", health, name="health"),
    path("ready", ReadyView.as_view(), name="ready"),
    # Aggregates every process's files when PROMETHEUS_MULTIPROC_DIR is set (hscjit/metrics.py).
    path("metrics", ExportToDjangoView, name="metrics"),
    path("", include("apps.products.urls")),
    path("", include("apps.manuals.urls")),
    path("", include("apps.sessions.urls")),
]
