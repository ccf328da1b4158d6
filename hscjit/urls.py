from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apps.products.urls")),
    path("", include("apps.manuals.urls")),
    path("", include("apps.sessions.urls")),
]
