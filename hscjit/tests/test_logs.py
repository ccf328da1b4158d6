from __future__ import annotations

import json
import logging

import pytest
from celery import shared_task
from django.test import Client

from hscjit.logging_context import current, log_context


def lines(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_a_record_is_one_json_line_with_timestamp_level_logger_message_and_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with log_context(session_id="s-1", product_id="boss-rc-600", manual_id=12):
        logging.getLogger("hscjit.test").warning("fetched %s pages", 48)
    [record] = lines(capsys.readouterr().out)
    assert record["level"] == "WARNING"
    assert record["logger"] == "hscjit.test"
    assert record["message"] == "fetched 48 pages"
    assert record["session_id"] == "s-1"
    assert record["product_id"] == "boss-rc-600"
    assert record["manual_id"] == "12"
    assert str(record["timestamp"]).endswith("+00:00")


def test_the_context_ends_with_its_block(capsys: pytest.CaptureFixture[str]) -> None:
    with log_context(session_id="s-1"):
        pass
    logging.getLogger("hscjit.test").warning("outside")
    [record] = lines(capsys.readouterr().out)
    assert "session_id" not in record
    assert current() == {}


def test_an_exception_and_its_traceback_are_one_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        raise RuntimeError("the manual server hung up")
    except RuntimeError:
        logging.getLogger("hscjit.test").exception("fetch failed")
    out = capsys.readouterr().out
    [record] = lines(out)
    assert len(out.strip().splitlines()) == 1
    assert "Traceback (most recent call last)" in str(record["exc_info"])
    assert "the manual server hung up" in str(record["exc_info"])


def test_django_records_are_written_once(capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("django.request").error("a failing view")
    logging.getLogger("celery.app.trace").error("a failing task")
    records = lines(capsys.readouterr().out)
    assert [record["message"] for record in records] == ["a failing view", "a failing task"]


def test_a_context_field_cannot_overwrite_the_message() -> None:
    with pytest.raises(ValueError), log_context(message="spoofed"):
        pass


def test_a_request_gets_an_id_that_the_response_echoes(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    given = client.get("/health", headers={"X-Request-ID": "req-42"})
    assert given["X-Request-ID"] == "req-42"
    made = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert made["X-Request-ID"] != "bad id with spaces"
    assert len(made["X-Request-ID"]) == 32


def test_records_logged_while_serving_a_request_carry_its_id(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    client.get("/no-such-page-for-the-log-test", headers={"X-Request-ID": "req-404"})
    records = lines(capsys.readouterr().out)
    [not_found] = [record for record in records if record["logger"] == "django.request"]
    assert not_found["request_id"] == "req-404"


@shared_task(name="hscjit.tests.log_inside_a_task")
def log_inside_a_task() -> None:
    logging.getLogger("hscjit.test").warning("inside the task")


def test_records_logged_by_a_celery_task_carry_its_task_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = log_inside_a_task.apply(task_id="task-7")
    assert result.successful()
    records = [r for r in lines(capsys.readouterr().out) if r["message"] == "inside the task"]
    assert [record["task_id"] for record in records] == ["task-7"]
    assert "task_id" not in current()
