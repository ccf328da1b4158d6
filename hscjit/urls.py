from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django_prometheus.exports import ExportToDjangoView

from hscjit.health import ReadyView, health

admin.site.site_header = _("Halilit Support Center · Staff")
admin.site.site_title = _("Halilit Support Center staff")
admin.site.index_title = _("Catalog, manuals and conversations")

urlpatterns = [
    # Before the admin, whose catch-all would answer for it.
    path("", include("apps.sessions.dashboard.urls")),
    path("admin/", admin.site.urls),
    # Django's language switch (set_language) for pages outside a chat.
    path("i18n/", include("django.conf.urls.i18n")),
    path("health", health, name="health"),
    path("ready", ReadyView.as_view(), name="ready"),
    # Aggregates every process's files when PROMETHEUS_MULTIPROC_DIR is set (hscjit/metrics.py).
    path("metrics", ExportToDjangoView, name="metrics"),
    # Browsers ask for /favicon.ico on every page whatever the page links.
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("favicon.svg"), permanent=True),
        name="favicon",
    ),
    path("", include("apps.manuals.urls")),
    path("", include("apps.sessions.urls")),
    path("", include("apps.sessions.console.urls")),
]
