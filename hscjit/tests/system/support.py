"""What the system tests share: a deployment's environment, its database, and its clients.

Every child process (daphne, Celery worker, manage.py) gets the same environment from a
`Deployment`: one database, one Redis, one media folder, production settings (DEBUG off). The
database is a real one that the children commit to, never the parent's transactional test
database, so what one process writes every other process sees.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
import psycopg
import pytest

from apps.devtools import testing
from apps.devtools.loadclient import ChatClient, Recorder
from apps.devtools.processes import BASE_DIR, project_env

T = TypeVar("T")

SECRET_KEY = "system-test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz"
# From the LX-88 demo manual (apps/devtools/evaluation/qa_set.json): answered from page 9.
DEMO_PRODUCT = "lumenvale-lx-88"
DEMO_QUESTION = "How do I change the split point?"


def require_binary(name: str) -> str:
    """The path of a server binary; skip (or fail, when services are required) without it."""
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    if found:
        return found
    message = f"{name} is not installed"
    if os.environ.get("HSCJIT_REQUIRE_SERVICES"):
        pytest.fail(f"{message} (HSCJIT_REQUIRE_SERVICES is set, so system tests must run)")
    pytest.skip(message)


def database_url(server_url: str, name: str) -> str:
    return urlparse(server_url)._replace(path=f"/{name}").geturl()


def admin_sql(server_url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on the server."""
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DemoTemplate:
    """A database with the demo loaded, to copy; the media its manual rows point into."""

    name: str
    media_root: Path
    staff_login: tuple[str, str]


@dataclass
class Deployment:
    """The settings every process of one deployment shares."""

    workdir: Path
    database_url: str
    redis_url: str
    media_root: Path

    def env(self, **overrides: str) -> dict[str, str]:
        return project_env(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            DEBUG="0",
            SECURE="0",
            SECRET_KEY=SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1",
            MEDIA_ROOT=str(self.media_root),
            STATIC_ROOT=str(self.workdir / "static"),
            # The vendor website of these tests is a loopback server.
            MANUAL_FETCH_ALLOWED_HOSTS="127.0.0.1:*",
            MANUAL_FETCH_RETRIES="0",
            # Every client of these tests comes from 127.0.0.1: per-address limits would
            # count them all as one customer.
            CHAT_ADDRESS_SESSIONS_PER_MINUTE="0",
            CHAT_ADDRESS_CONNECTIONS_PER_MINUTE="0",
            **overrides,
        )

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a management command with this deployment's environment (or `env`)."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def load_demo(self) -> tuple[str, str]:
        """Migrate, load the demo catalog and manuals; returns the demo staff login."""
        self.manage("migrate", "--noinput")
        found = re.search(r"demo staff login: (\S+) / (\S+)", self.manage("load_demo"))
        assert found, "load_demo printed no staff login"
        return found.group(1), found.group(2)

    def import_product(self, *, catalog_id: str, name: str, manual_url: str) -> int:
        """Add a product whose manual lives at `manual_url` (an operator's import); its pk."""
        return self.import_products({catalog_id: (name, manual_url)})[catalog_id]

    def import_products(self, products: dict[str, tuple[str, str]]) -> dict[str, int]:
        """Add products, catalog id -> (name, manual URL), in one import; their pks by id."""
        catalog = self.workdir / f"{next(iter(products))}.json"
        catalog.write_text(
            json.dumps(
                {
                    "brand_identity": {"id": "quillfeather", "name": "Quillfeather Audio"},
                    "products": [
                        {
                            "id": catalog_id,
                            "name": name,
                            "brand": "quillfeather",
                            "category": "Drum machines",
                            "documentation": {"type": "pdf", "url": manual_url},
                        }
                        for catalog_id, (name, manual_url) in products.items()
                    ],
                }
            )
        )
        self.manage("import_catalog", str(catalog))
        return {
            catalog_id: int(
                self.query("SELECT id FROM products_product WHERE catalog_id = %s", catalog_id)
            )
            for catalog_id in products
        }

    def schedule_every(self, job: str, seconds: int) -> None:
        """Run the periodic `job` every `seconds`, as staff would set it in the admin."""
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            row = conn.execute(
                "INSERT INTO django_celery_beat_intervalschedule (every, period)"
                " VALUES (%s, 'seconds') RETURNING id",
                (seconds,),
            ).fetchone()
            assert row is not None
            changed = conn.execute(
                "UPDATE django_celery_beat_periodictask"
                " SET interval_id = %s, crontab_id = NULL, last_run_at = NULL WHERE name = %s",
                (row[0], job),
            ).rowcount
            assert changed == 1, f"no periodic task named {job}"
            conn.execute("UPDATE django_celery_beat_periodictasks SET last_update = now()")

    def query_row(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        """The first row, read straight from the deployment's database."""
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchone()  # type: ignore[arg-type]

    def query(self, sql: str, *params: Any) -> Any:
        row = self.query_row(sql, *params)
        return row[0] if row else None


# A deployment is polled over HTTP or SQL: five times a second is often enough.
eventually = functools.partial(testing.eventually, every=0.2)


async def ready(base_url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=15) as http:
        response = await http.get(f"{base_url}/ready")
    return response.status_code, response.json()


async def health_pid(base_url: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        return int((await http.get(f"{base_url}/health")).json()["pid"])


async def chat_client(base_url: str) -> ChatClient:
    """A customer with a fresh chat session and an open socket."""
    client = ChatClient(base_url, Recorder())
    await client.open_session()
    await client.connect()
    return client


async def predict(client: ChatClient, text: str, *, timeout: float = 10) -> list[dict[str, Any]]:
    reply = await asyncio.wait_for(
        client.send("prediction", {"type": "typing", "text": text}, wait=True), timeout
    )
    assert reply is not None and reply["type"] == "prediction", reply
    return reply["candidates"]


async def top_prediction(client: ChatClient, text: str) -> str | None:
    candidates = await predict(client, text)
    return candidates[0]["product"]["id"] if candidates and candidates[0]["confident"] else None


async def answered(client: ChatClient, *, timeout: float = 30) -> dict[str, Any]:
    """Ask the demo question about the demo product; the answer_end, checked to be grounded."""
    reply = await client.ask(DEMO_QUESTION, product_id=DEMO_PRODUCT, timeout=timeout)
    assert reply["type"] == "answer_end", reply
    assert reply["state"] == "answered", reply
    assert any(c["page"] == 9 for c in reply["citations"]), reply["citations"]
    return reply
