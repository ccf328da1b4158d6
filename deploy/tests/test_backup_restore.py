"""backup.sh and restore.sh, run for real against a scratch PostgreSQL database and a private
redis-server (never the shared one): the data comes back exactly as it was backed up."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.devtools.testing import wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
PG_ADMIN_URL = os.environ.get("HSCJIT_BACKUP_TEST_PG", "postgres://postgres@127.0.0.1:5432")


def _run(cmd: list[str], *, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stderr}")
    return result


def _psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-At", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database() -> Iterator[str]:
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    name = f"hscjit_backup_test_{uuid.uuid4().hex[:8]}"
    admin = f"{PG_ADMIN_URL}/postgres"
    _psql(admin, f"CREATE DATABASE {name}")
    try:
        yield f"{PG_ADMIN_URL}/{name}"
    finally:
        _psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = _free_port()
    data = tmp_path / "redis-data"
    data.mkdir()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
            # A snapshot for --rdb otherwise waits 5 s for more replicas to join.
            "--repl-diskless-sync-delay",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_until(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-u", url, "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ),
            what="the scratch redis-server answers",
        )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def env(tmp_path: Path, database: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "BACKUP_DIR": str(tmp_path / "backups"),
        "BACKUP_S3_BUCKET": "",
    }


def _redis(url: str, *args: str, db: int = 0) -> str:
    return subprocess.run(
        ["redis-cli", "-u", url, "-n", str(db), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _seed(database: str, redis_url: str) -> None:
    _psql(
        database,
        "CREATE TABLE brand (id serial PRIMARY KEY, name text NOT NULL);"
        "CREATE TABLE product (id serial PRIMARY KEY, brand_id int REFERENCES brand(id),"
        " name text, notes text, price numeric(10,2));"
        "INSERT INTO brand (name) VALUES ('Boss'), ('Roland'), ('Yamaha');"
        "INSERT INTO product (brand_id, name, notes, price) VALUES"
        " (1, 'RC-600', E'line one\\nline two\\ttab', 2990.00),"
        " (2, 'TD-07', 'קלידים ותופים', NULL),"
        " (3, 'P-45', NULL, 1999.99);",
    )
    _redis(redis_url, "set", "catalog:version", "7")
    _redis(redis_url, "hset", "card:boss-rc-600", "name", "Boss RC-600", "price", "2990.00")
    _redis(redis_url, "rpush", "queue", "a", "b", "c")
    _redis(redis_url, "set", "session:expiring", "x", "EX", "3600")
    _redis(redis_url, "set", "other db key", "with spaces", db=3)


def _snapshot(database: str, redis_url: str) -> dict[str, object]:
    return {
        "brands": _psql(database, "SELECT id, name FROM brand ORDER BY id"),
        "products": _psql(database, "SELECT * FROM product ORDER BY id"),
        "version": _redis(redis_url, "get", "catalog:version"),
        "card": _redis(redis_url, "hgetall", "card:boss-rc-600"),
        "queue": _redis(redis_url, "lrange", "queue", "0", "-1"),
        "expiring": _redis(redis_url, "get", "session:expiring"),
        "expires": int(_redis(redis_url, "ttl", "session:expiring")) > 0,
        "db0 keys": sorted(_redis(redis_url, "keys", "*").splitlines()),
        "db3 keys": sorted(_redis(redis_url, "keys", "*", db=3).splitlines()),
        "db3 value": _redis(redis_url, "get", "other db key", db=3),
    }


def _mess_up(database: str, redis_url: str) -> None:
    _psql(
        database,
        "UPDATE product SET name = 'changed', price = 1 WHERE id = 1;"
        "DELETE FROM product WHERE id = 2;"
        "INSERT INTO brand (name) VALUES ('Korg');",
    )
    _redis(redis_url, "del", "card:boss-rc-600")
    _redis(redis_url, "set", "catalog:version", "8")
    _redis(redis_url, "persist", "session:expiring")
    _redis(redis_url, "set", "added after the backup", "1")
    _redis(redis_url, "flushdb", db=3)


def _backup(env: dict[str, str]) -> dict[str, Path]:
    written = _run([str(SCRIPTS / "backup.sh")], env=env).stdout.split()
    paths = {Path(p).name.split("-")[0]: Path(p) for p in written}
    assert set(paths) == {"postgres", "redis"}
    for path in paths.values():
        assert path.exists() and Path(f"{path}.sha256").exists()
    return paths


def test_a_restore_brings_back_exactly_the_backed_up_data(env: dict[str, str]) -> None:
    database, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
    _seed(database, redis_url)
    before = _snapshot(database, redis_url)
    backups = _backup(env)

    _mess_up(database, redis_url)
    assert _snapshot(database, redis_url) != before

    postgres = _run([str(SCRIPTS / "restore.sh"), "postgres", str(backups["postgres"])], env=env)
    redis = _run([str(SCRIPTS / "restore.sh"), "redis", str(backups["redis"])], env=env)

    assert _snapshot(database, redis_url) == before
    assert "validated: 2 tables, 6 rows" in postgres.stderr
    assert "key counts of every database match" in redis.stderr
    # The sequence was restored too: the next row does not collide with a restored id.
    assert _psql(database, "INSERT INTO brand (name) VALUES ('Korg') RETURNING id") == "4"


def test_a_restore_first_saves_the_current_data(env: dict[str, str]) -> None:
    database, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
    _seed(database, redis_url)
    backups = _backup(env)
    _mess_up(database, redis_url)
    changed = _snapshot(database, redis_url)

    _run([str(SCRIPTS / "restore.sh"), "postgres", str(backups["postgres"])], env=env)
    _run([str(SCRIPTS / "restore.sh"), "redis", str(backups["redis"])], env=env)

    safety = Path(env["BACKUP_DIR"]) / "pre-restore"
    safety_pg = sorted(safety.glob("postgres-*.dump"))
    safety_redis = sorted(safety.glob("redis-*.rdb.gz"))
    assert len(safety_pg) == 1 and len(safety_redis) == 1
    # Restoring the safety backups undoes the restore: they hold the data as it was before it.
    _run([str(SCRIPTS / "restore.sh"), "postgres", str(safety_pg[0])], env=env)
    _run([str(SCRIPTS / "restore.sh"), "redis", str(safety_redis[0])], env=env)
    assert _snapshot(database, redis_url) == changed


@pytest.mark.parametrize("target", ["postgres", "redis"])
def test_a_backup_that_fails_its_checksum_is_not_restored(env: dict[str, str], target: str) -> None:
    database, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
    _seed(database, redis_url)
    backup = _backup(env)[target]
    _mess_up(database, redis_url)
    changed = _snapshot(database, redis_url)

    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.write_bytes(bytes(data))
    result = _run([str(SCRIPTS / "restore.sh"), target, str(backup)], env=env, check=False)

    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert _snapshot(database, redis_url) == changed
    assert not (Path(env["BACKUP_DIR"]) / "pre-restore").exists()


def test_backups_older_than_the_retention_are_pruned(env: dict[str, str]) -> None:
    backups = Path(env["BACKUP_DIR"])
    backups.mkdir(parents=True)
    old, recent = backups / "postgres-20000101T020000Z.dump", backups / "redis-recent.rdb.gz"
    for path in (old, recent):
        path.write_bytes(b"x")
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(old, (eight_days_ago, eight_days_ago))
    os.utime(recent, (time.time() - 6 * 24 * 3600,) * 2)

    _run([str(SCRIPTS / "backup.sh"), "redis"], env=env)

    assert not old.exists()
    assert recent.exists()
