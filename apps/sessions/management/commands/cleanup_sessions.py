"""Remove chat sessions idle longer than the retention, with their messages and feedback."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.sessions.services import delete_idle_sessions

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION = re.compile(r"^(\d+)([dhms]?)$")


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `3600s`; a bare number means days."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise CommandError(f"--older-than must look like 30d, 12h, 90m or 3600s, got {text!r}")
    return timedelta(**{_UNITS[match.group(2) or "d"]: int(match.group(1))})


class Command(BaseCommand):
    help = "Delete chat sessions with no activity for longer than --older-than."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            default=f"{settings.CHAT_SESSION_RETENTION_DAYS}d",
            help="Idle time after which a session goes (default: CHAT_SESSION_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args: Any, older_than: str, dry_run: bool, **options: Any) -> None:
        idle_for = parse_duration(older_than)
        result = delete_idle_sessions(idle_for=idle_for, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {result.sessions} sessions and {result.messages} messages "
            f"idle for more than {idle_for}"
        )
