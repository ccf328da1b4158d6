"""Deployments for the system tests, on the PostgreSQL server of DATABASE_URL and a private Redis.

Migrating and loading the demo takes seconds, so it happens once per run, into a template
database; each test gets a copy of it (CREATE DATABASE ... TEMPLATE, well under a second) and a
redis-server of its own, which it may stop and start without touching anyone else's.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from apps.devtools.processes import RedisServer
from apps.manuals.tests.conftest import VendorServer
from hscjit.tests.system.support import (
    DemoTemplate,
    Deployment,
    admin_sql,
    database_url,
    require_binary,
)

_copies = itertools.count(1)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTemplate]:
    server = settings.DATABASE_URL
    name = f"{settings.DATABASES['default']['NAME']}_system_{os.getpid()}"
    media_root = tmp_path_factory.mktemp("system-media")
    admin_sql(server, f'CREATE DATABASE "{name}"')
    try:
        # No Redis here: load_demo extracts the bundled manuals in its own process.
        loader = Deployment(
            workdir=tmp_path_factory.mktemp("system-template"),
            database_url=database_url(server, name),
            redis_url="",
            media_root=media_root,
        )
        yield DemoTemplate(name=name, media_root=media_root, staff_login=loader.load_demo())
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    require_binary("redis-server")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def deployment(
    demo_template: DemoTemplate, private_redis: RedisServer, tmp_path: Path
) -> Iterator[Deployment]:
    """A copy of the demo database and a private Redis, for the processes a test starts."""
    server = settings.DATABASE_URL
    name = f"{demo_template.name}_{next(_copies)}"
    admin_sql(server, f'CREATE DATABASE "{name}" TEMPLATE "{demo_template.name}"')
    try:
        yield Deployment(
            workdir=tmp_path,
            database_url=database_url(server, name),
            redis_url=private_redis.url,
            media_root=demo_template.media_root,
        )
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def vendor() -> Iterator[VendorServer]:
    server = VendorServer()
    yield server
    server.close()
