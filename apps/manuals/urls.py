from __future__ import annotations

from django.urls import path

from apps.manuals import views

app_name = "manuals"

urlpatterns = [
    path("manuals/<int:manual_id>/document", views.document, name="document"),
    # MEDIA_URL: the admin's links to stored originals and uploads.
    path("staff/manual-files/<path:name>", views.staff_file, name="staff_file"),
]
