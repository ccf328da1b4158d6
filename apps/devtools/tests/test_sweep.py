"""The rules of `loadtest --sweep`: steps, the knee, the chat/echo ratio, when to stop."""

from __future__ import annotations

import math

import pytest

from apps.devtools import sweep
from apps.devtools.sweep import Knee, Point


def point(rate: float, p95: float, *, typists: int = 0) -> Point:
    return Point(typists=typists, rate=rate, count=100, p50=p95 / 2, p95=p95, p99=p95 * 2)


def test_steps_come_from_a_range_with_its_stop_included_or_from_a_list() -> None:
    assert sweep.parse_steps("50:200:50") == [50, 100, 150, 200]
    assert sweep.parse_steps("50:220:50") == [50, 100, 150, 200]
    assert sweep.parse_steps("25,100, 300") == [25, 100, 300]


@pytest.mark.parametrize(
    "value", ["", "a,b", "50:300", "50:300:0", "100,50", "50,50", "0,50", "1:100:1"]
)
def test_steps_that_do_not_rise_or_do_not_parse_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        sweep.parse_steps(value)


def test_the_knee_lies_between_the_steps_on_each_side_of_50_ms_on_a_log_scale() -> None:
    knee = sweep.find_knee([point(100, 5), point(200, 10), point(300, 1000)])
    assert knee is not None and knee.bound == "at"
    # log(50/10) / log(1000/10) = 0.349... of the way from 200 to 300 msgs/s.
    assert knee.rate == pytest.approx(200 + 100 * math.log(5) / math.log(100))


def test_the_knee_is_the_first_crossing_even_if_a_later_step_comes_back_under() -> None:
    knee = sweep.find_knee([point(100, 5), point(200, 500), point(300, 20)])
    assert knee is not None and knee.bound == "at" and 100 < knee.rate < 200


def test_a_curve_past_50_ms_at_its_first_step_has_its_knee_below_that_step() -> None:
    assert sweep.find_knee([point(100, 80), point(200, 900)]) == Knee(rate=100, bound="below")


def test_a_curve_that_never_passes_50_ms_has_its_knee_above_its_last_step() -> None:
    assert sweep.find_knee([point(100, 5), point(200, 50)]) == Knee(rate=200, bound="above")
    assert sweep.find_knee([]) is None


def test_the_ratio_is_exact_when_both_knees_were_crossed() -> None:
    chat, echo = Knee(rate=450, bound="at"), Knee(rate=500, bound="at")
    assert sweep.knee_ratio(chat, echo) == (0.9, 0.9)
    assert sweep.describe_ratio(chat, echo) == "ratio x0.90 (target >= 0.9: met)"


def test_the_ratio_is_a_bound_when_one_knee_is_out_of_the_range_of_steps() -> None:
    # The chat never passed 50 ms up to 600 msgs/s; echo did at 500: the goal holds.
    assert sweep.describe_ratio(Knee(600, "above"), Knee(500, "at")) == (
        "ratio > x1.20 (target >= 0.9: met)"
    )
    # The chat passed at 300; echo never did up to 600: at most x0.5, the goal fails.
    assert sweep.describe_ratio(Knee(300, "at"), Knee(600, "above")) == (
        "ratio < x0.50 (target >= 0.9: not met)"
    )
    # At most x1.2 may or may not reach 0.9.
    assert sweep.describe_ratio(Knee(600, "at"), Knee(500, "above")).endswith("undecided)")
    assert "unknown" in sweep.describe_ratio(Knee(600, "above"), Knee(600, "above"))
    assert "unknown" in sweep.describe_ratio(Knee(100, "below"), Knee(100, "below"))


def test_the_sweep_stops_once_both_are_past_and_the_chat_ran_at_1_5_x_its_knee() -> None:
    echo = [point(100, 5), point(200, 8), point(300, 9)]
    chat = [point(100, 5), point(200, 500), point(300, 900)]
    assert not sweep.should_stop(echo, chat)  # echo is not past its knee yet
    echo.append(point(400, 600))
    chat.append(point(400, 950))
    knee = sweep.find_knee(chat)
    assert knee is not None and knee.rate < 200
    # 1.5 x the chat's knee (<= 300 msgs/s) was run, and both are past their knee.
    assert sweep.should_stop(echo, chat)
    assert not sweep.should_stop(echo[:2], chat[:2])


def test_past_the_knee_is_the_first_step_at_one_and_a_half_times_the_chat_knee() -> None:
    chat = [point(100, 10), point(200, 1000), point(300, 200), point(400, 300)]
    knee = sweep.find_knee(chat)
    assert knee is not None
    found = sweep.past_knee(chat)
    assert found is not None
    rate, first = found
    assert rate == pytest.approx(1.5 * knee.rate)
    assert first is chat[2]
    assert sweep.past_knee([point(100, 10), point(200, 20)]) is None


def test_the_table_has_a_row_per_step_with_both_sockets_and_the_skipped_frames() -> None:
    echo = [point(180, 4.5, typists=50)]
    chat = [Point(typists=50, rate=181, count=90, p50=2, p95=6.5, p99=9, unanswered=4, skipped=3)]
    header, columns, row = sweep.table(echo, chat)
    # Each socket's label stands over its own columns.
    assert header.index("echo") == columns.index("|") + 2
    assert header.index("chat") == columns.index("|", columns.index("|") + 1) + 2
    assert " ".join(row.split()) == "50 | 180 2.2 4.5 9.0 | 181 2.0 6.5 9.0 | 3 4 0"
