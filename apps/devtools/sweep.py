"""The rules of `loadtest --sweep`: its steps, the knee, when to stop, and the table.

The sweep raises the number of typists step by step on one process; at each step the echo
socket and then the chat take the same typing load, so both curves come from one run. The
knee of a curve is the typing rate (messages a second) where its p95 passes 50 ms. Pure
functions, so the rules are unit-tested without servers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

KNEE_P95_MS = 50.0
TARGET_KNEE_RATIO = 0.9
# Past the knee the chat must shed, not queue: at this multiple of its knee's rate its p95
# stays under GRACEFUL_P95_MS.
PAST_KNEE = 1.5
GRACEFUL_P95_MS = 250.0
MOST_STEPS = 20


def parse_steps(value: str) -> list[int]:
    """Typist counts of the steps: "50,100,200", or "50:300:50" (start:stop:step, stop
    included). Each count is positive and larger than the one before."""
    try:
        if ":" in value:
            start, stop, step = (int(part) for part in value.split(":"))
            if step <= 0:
                raise ValueError
            steps = list(range(start, stop + 1, step))
        else:
            steps = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"steps look like 50:300:50 or 50,100,200, not {value!r}") from None
    if not steps or steps[0] <= 0 or any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError(f"steps must be positive and rising, not {value!r}")
    if len(steps) > MOST_STEPS:
        raise ValueError(f"at most {MOST_STEPS} steps, not {len(steps)}")
    return steps


@dataclass(frozen=True)
class Point:
    """One socket's figures at one step."""

    typists: int
    rate: float  # typing messages sent a second
    count: int  # replies timed
    p50: float
    p95: float
    p99: float
    errors: int = 0
    # Typing frames no reply named (the chat skips stale ones; echo answers every frame).
    unanswered: int = 0
    # The server's typing_frames_skipped_total over the step; None where it was not read.
    skipped: float | None = None


@dataclass(frozen=True)
class Knee:
    """Where a curve's p95 passes the threshold: at `rate` ("at", interpolated between the
    steps on each side), below the first step's rate ("below"), or above the last ("above")."""

    rate: float
    bound: str

    @property
    def crossed(self) -> bool:
        return self.bound in {"at", "below"}

    @property
    def range(self) -> tuple[float, float]:
        """The rates the knee may be at."""
        return {
            "at": (self.rate, self.rate),
            "below": (0.0, self.rate),
            "above": (self.rate, math.inf),
        }[self.bound]

    def describe(self) -> str:
        word = {"at": "~", "below": "< ", "above": "> "}[self.bound]
        return f"{word}{self.rate:.0f} msgs/s"


def find_knee(points: Sequence[Point], threshold_ms: float = KNEE_P95_MS) -> Knee | None:
    """The first crossing of `threshold_ms` by p95, in the order the steps ran (rising load).

    Between the last step under the threshold and the first over it the rate is interpolated
    on log(p95): near saturation latency grows about exponentially with the rate, so a
    straight line between 10 ms and 5 s would put the knee at the lower step.
    """
    if not points:
        return None
    for number, point in enumerate(points):
        if point.p95 <= threshold_ms:
            continue
        if number == 0:
            return Knee(rate=point.rate, bound="below")
        before = points[number - 1]
        low, high = math.log(max(before.p95, 0.1)), math.log(point.p95)
        share = (math.log(threshold_ms) - low) / (high - low) if high > low else 1.0
        return Knee(rate=before.rate + share * (point.rate - before.rate), bound="at")
    return Knee(rate=points[-1].rate, bound="above")


def knee_ratio(chat: Knee, echo: Knee) -> tuple[float, float]:
    """The range of chat knee / echo knee that the measured bounds allow."""
    chat_low, chat_high = chat.range
    echo_low, echo_high = echo.range
    low = chat_low / echo_high if echo_high > 0 else math.inf
    high = chat_high / echo_low if echo_low > 0 else math.inf
    return low, high


def describe_ratio(chat: Knee, echo: Knee, target: float = TARGET_KNEE_RATIO) -> str:
    low, high = knee_ratio(chat, echo)
    if low == high:
        shown = f"x{low:.2f}"
    elif math.isinf(high) and low > 0:
        shown = f"> x{low:.2f}"
    elif not math.isinf(high) and low == 0:
        shown = f"< x{high:.2f}"
    else:
        return f"ratio unknown in this range of steps (target >= {target:g})"
    verdict = "met" if low >= target else "not met" if high < target else "undecided"
    return f"ratio {shown} (target >= {target:g}: {verdict})"


def should_stop(echo: Sequence[Point], chat: Sequence[Point]) -> bool:
    """Both curves are past their knee and the chat ran at PAST_KNEE x its knee's rate:
    higher steps would only queue more."""
    echo_knee, chat_knee = find_knee(echo), find_knee(chat)
    if echo_knee is None or chat_knee is None or not (echo_knee.crossed and chat_knee.crossed):
        return False
    return chat[-1].rate >= PAST_KNEE * chat_knee.rate


def past_knee(chat: Sequence[Point]) -> tuple[float, Point | None] | None:
    """The rate PAST_KNEE x the chat's knee and the first step at or above it (None if no step
    reached it); None when the chat's knee was not crossed."""
    knee = find_knee(chat)
    if knee is None or not knee.crossed:
        return None
    rate = PAST_KNEE * knee.rate
    return rate, next((point for point in chat if point.rate >= rate), None)


def _columns(rate: object, p50: object, p95: object, p99: object) -> str:
    return f"{rate:>7} {p50:>8} {p95:>8} {p99:>8}"


def _figures(point: Point) -> str:
    return _columns(f"{point.rate:.0f}", f"{point.p50:.1f}", f"{point.p95:.1f}", f"{point.p99:.1f}")


def table(echo: Sequence[Point], chat: Sequence[Point]) -> list[str]:
    """Per step: each socket's typing rate (msgs/s) and p50/p95/p99 (ms), and the chat's
    typing frames skipped (the server's count) and unanswered (the clients' count)."""
    head = _columns("msgs/s", "p50", "p95", "p99")
    lines = [
        f"{'':7} | {'echo':<34} | {'chat':<34} |",
        f"typists | {head} | {head} | skipped unanswered errors",
    ]
    for floor, served in zip(echo, chat, strict=True):
        skipped = "-" if served.skipped is None else f"{served.skipped:.0f}"
        lines.append(
            f"{served.typists:7d} | {_figures(floor)} | {_figures(served)} | {skipped:>7} "
            f"{served.unanswered:10d} {floor.errors + served.errors:6d}"
        )
    return lines


def verdict(echo: Sequence[Point], chat: Sequence[Point]) -> list[str]:
    echo_knee, chat_knee = find_knee(echo), find_knee(chat)
    if echo_knee is None or chat_knee is None:
        return []
    lines = [
        f"knee (p95 > {KNEE_P95_MS:g} ms): echo {echo_knee.describe()}, chat "
        f"{chat_knee.describe()}; " + describe_ratio(chat_knee, echo_knee)
    ]
    beyond = past_knee(chat)
    if beyond is not None:
        rate, point = beyond
        if point is None:
            lines.append(
                f"past the knee: no step reached {PAST_KNEE:g} x the chat's knee "
                f"(~{rate:.0f} msgs/s); add a higher step"
            )
        else:
            lines.append(
                f"past the knee: at {point.rate:.0f} msgs/s (>= {PAST_KNEE:g} x the chat's "
                f"knee) chat p95 {point.p95:.1f} ms (target < {GRACEFUL_P95_MS:g} ms: "
                f"{'met' if point.p95 < GRACEFUL_P95_MS else 'not met'})"
            )
    return lines
