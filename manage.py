#!/usr/bin/env python
from __future__ import annotations

import os
import sys

# What the one-line error adds: how to run a command against the embedded default.
CONFIG_HINT = (
    "Set DEBUG=1 to run against the embedded default (SQLite, no Redis), "
    "or SECRET_KEY (50+ random characters) with DEBUG=0 for production."
)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hscjit.settings")
    from django.core.management import execute_from_command_line

    from hscjit.env import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as error:
        # A missing or bad setting is the operator's to fix, not a bug: one line, no traceback.
        sys.stderr.write(f"manage.py: {str(error).rstrip('.')}. {CONFIG_HINT}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
