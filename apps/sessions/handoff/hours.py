"""Opening hours of live support, kept in the admin and read in SUPPORT_TIME_ZONE."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.sessions.models import ClosedDay, OpeningHours

# How far ahead the next opening is looked for (two weeks covers any holiday season).
_LOOKAHEAD_DAYS = 14


@dataclass(frozen=True)
class Week:
    """The weekly hours and the closed days, read once: `open_at` then costs no query."""

    windows: dict[int, list[tuple[time, time]]]
    closed: frozenset[date]
    zone: ZoneInfo

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        if local.date() in self.closed:
            return False
        now = local.time()
        return any(opens <= now < closes for opens, closes in self.windows.get(local.weekday(), []))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next moment support opens after `moment` (None if it never does soon)."""
        local = moment.astimezone(self.zone)
        for offset in range(_LOOKAHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            if day in self.closed:
                continue
            for opens, _closes in self.windows.get(day.weekday(), []):
                start = datetime.combine(day, opens, tzinfo=self.zone)
                if start > local:
                    return start
        return None


def current_week(*, at: datetime) -> Week:
    """The hours, and the closed days around `at`."""
    zone = ZoneInfo(settings.SUPPORT_TIME_ZONE)
    windows: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in OpeningHours.objects.values_list("weekday", "opens", "closes"):
        windows.setdefault(weekday, []).append((opens, closes))
    start = at.astimezone(zone).date()
    closed = ClosedDay.objects.filter(
        date__gte=start - timedelta(days=1), date__lte=start + timedelta(days=_LOOKAHEAD_DAYS)
    ).values_list("date", flat=True)
    return Week(windows=windows, closed=frozenset(closed), zone=zone)
