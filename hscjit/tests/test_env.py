from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from hscjit.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
)


def test_a_required_string_that_is_missing_fails_with_its_name() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        env_str("SECRET_KEY", env={})
    assert env_str("NAME", "fallback", env={}) == "fallback"


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_a_boolean_that_is_not_one_fails(raw: str) -> None:
    with pytest.raises(ConfigError, match="DEBUG must be a boolean"):
        env_bool("DEBUG", False, env={"DEBUG": raw})


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("Off", False), (" yes ", True)])
def test_booleans_are_read_leniently(raw: str, value: bool) -> None:
    assert env_bool("DEBUG", not value, env={"DEBUG": raw}) is value


def test_integers_fail_when_not_numbers_or_out_of_range() -> None:
    with pytest.raises(ConfigError, match="PORT must be an integer, got 'eighty'"):
        env_int("PORT", 1, env={"PORT": "eighty"})
    with pytest.raises(ConfigError, match="at least 1"):
        env_int("N", 5, minimum=1, env={"N": "0"})
    with pytest.raises(ConfigError, match="at most 10"):
        env_int("N", 5, maximum=10, env={"N": "11"})
    assert env_int("N", 5, env={"N": " "}) == 5


def test_floats_fail_when_not_numbers_or_below_the_minimum() -> None:
    with pytest.raises(ConfigError, match="must be a number"):
        env_float("CEILING", 1.0, env={"CEILING": "lots"})
    with pytest.raises(ConfigError, match=r"at least 1\.0"):
        env_float("CEILING", 5.0, minimum=1.0, env={"CEILING": "0.5"})


def test_lists_split_on_commas_and_drop_blanks() -> None:
    assert env_list("HOSTS", [], env={"HOSTS": "a.example, b.example,,"}) == [
        "a.example",
        "b.example",
    ]
    assert env_list("HOSTS", ["x"], env={}) == ["x"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/app", "must start with postgres:// or sqlite:///"),
        ("postgres://user@host:5432/", "names no database"),
        ("sqlite:///", "names no SQLite file"),
    ],
)
def test_a_bad_database_url_fails(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        database_from_url(url, base_dir="/srv")


def test_database_urls_are_read() -> None:
    pg = database_from_url(
        "postgres://u:p%40ss@db.internal:6432/hscjit?sslmode=require", base_dir="/"
    )
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "hscjit",
        "u",
        "p@ss",
        "db.internal",
        "6432",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert database_from_url("sqlite:///db.sqlite3", base_dir="/srv")["NAME"] == "/srv/db.sqlite3"
    assert database_from_url("sqlite:////tmp/x.db", base_dir="/srv")["NAME"] == "/tmp/x.db"
    # Tasks write from threads beside the requests: writers wait instead of failing.
    assert database_from_url("sqlite:///db.sqlite3", base_dir="/srv")["OPTIONS"] == {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }


def _import_settings(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", "import hscjit.settings"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off() -> None:
    result = _import_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is required but not set" in result.stderr


def test_settings_refuse_a_short_secret_key_when_debug_is_off() -> None:
    result = _import_settings(DEBUG="0", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 random characters" in result.stderr


def test_settings_refuse_a_bad_redis_url() -> None:
    result = _import_settings(DEBUG="1", REDIS_URL="http://127.0.0.1:6379")
    assert result.returncode != 0
    assert "REDIS_URL must start with redis://" in result.stderr


def test_settings_start_in_debug_without_a_secret_key() -> None:
    result = _import_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
