"""Where a web process's time goes, from py-spy's raw stacks.

    py-spy record -p PID -d 15 -r 100 -f raw -o out.txt --threads --gil
    python -m apps.devtools.stacks out.txt [--thread MainThread]

Each sample is put in the bucket of its innermost frame that a rule names (JSON inside a
consumer's send is JSON, a prediction's fuzzy search is the prediction index), so the shares
add up to 100 %. With `--gil` py-spy keeps only samples that hold the GIL: the process's
Python work, which for an event-loop server is the loop's busy time.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JSON", ("json/",)),
    ("metrics (prometheus)", ("prometheus_client/", "django_prometheus/")),
    ("logging and log context", ("logging/__init__.py", "hscjit/logging_context.py")),
    ("prediction index", ("apps/products/prediction/",)),
    ("product cards", ("apps/sessions/cards.py",)),
    ("budgets and rate limits", ("apps/sessions/ratelimit.py",)),
    ("protocol parsing", ("apps/sessions/protocol.py",)),
    ("database (psycopg, ORM)", ("psycopg", "django/db/")),
    ("sessions and auth", ("django/contrib/sessions", "channels/auth.py", "channels/sessions.py")),
    ("channel layer (Redis)", ("channels_redis", "redis/")),
    ("Django request handling", ("django/",)),
    ("chat consumer", ("apps/sessions/",)),
    ("Channels plumbing", ("channels/",)),
    ("ASGI glue (asgiref, hscjit/asgi.py)", ("asgiref/", "hscjit/asgi.py")),
    ("WebSocket frames (autobahn, daphne)", ("autobahn/", "daphne/ws_protocol.py")),
    ("daphne and HTTP", ("daphne/", "twisted/web")),
    ("twisted reactor", ("twisted/",)),
    ("asyncio loop", ("asyncio/", "selectors.py")),
    ("threads", ("threading.py", "concurrent/futures")),
)


def bucket(frames: Iterable[str]) -> str:
    """The rule of the innermost frame that one names, or "other"."""
    for frame in reversed(list(frames)):
        for name, parts in RULES:
            if any(part in frame for part in parts):
                return name
    return "other"


def shares(lines: Iterable[str], *, thread: str = "") -> tuple[int, list[tuple[str, float]]]:
    """Samples counted, and each bucket's share of them, largest first. A raw line is
    `thread;frame;frame... count`; `thread` keeps only the threads whose name contains it."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        name, *frames = stack.split(";")
        if thread in name:
            counts[bucket(frames)] += int(count)
    total = sum(counts.values())
    return total, [(name, count / total) for name, count in counts.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--thread", default="", help="only threads whose name contains this")
    options = parser.parse_args()
    with options.path.open(encoding="utf-8", errors="replace") as lines:
        total, found = shares(lines, thread=options.thread)
    for name, share in found:
        print(f"{share:6.1%}  {name}")
    print(f"{total} samples")


if __name__ == "__main__":
    main()
