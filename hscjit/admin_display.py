"""How the admin's lists show values that every app has: short, one-line times."""

from __future__ import annotations

from datetime import datetime

from django.utils.formats import date_format
from django.utils.timezone import localtime


def short_time(moment: datetime | None) -> str:
    """ "2026-12-03 15:06" in the site's time zone: a list keeps its columns in view."""
    return date_format(localtime(moment), "Y-m-d H:i") if moment else "-"
