from __future__ import annotations

from django.apps import AppConfig


class ManualsConfig(AppConfig):
    name = "apps.manuals"
    label = "manuals"
    verbose_name = "Manuals"
