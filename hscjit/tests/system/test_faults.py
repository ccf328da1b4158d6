"""A dependency fails under a running deployment: Redis or PostgreSQL restarts, a worker dies.

Each test owns the servers it breaks (a private redis-server or PostgreSQL cluster) and the web
and worker processes it starts; the bounds are on behaviour (recovered within seconds), not
benchmarks.
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from apps.devtools.loadclient import ChatClient
from apps.devtools.processes import (
    PostgresServer,
    RedisServer,
    celery_worker,
    scratch_dir,
    web_server,
)
from apps.manuals.tests.conftest import VendorServer, make_pdf
from hscjit.tests.system.support import (
    DEMO_PRODUCT,
    DEMO_QUESTION,
    Deployment,
    answered,
    chat_client,
    eventually,
    health_pid,
    ready,
    require_binary,
    top_prediction,
)

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(120)]

# How long a dependency's return may take to show in every part of the service.
RECOVERS_WITHIN = 20.0


async def _ready_is(site: str, status: int) -> dict:
    code, body = await ready(site)
    return body if code == status else {}


async def _serving(client: ChatClient) -> bool:
    """Reconnect like the page does if the socket dropped, then predict."""
    if not client.connected:
        await client.reconnect(within=5)
    return await top_prediction(client, "lumenvale lx-88") == DEMO_PRODUCT


def _saved(deployment: Deployment, message_id: int) -> tuple[str, str] | None:
    return deployment.query_row(
        "SELECT state, text FROM chat_message WHERE id = %s AND role = 'answer'", message_id
    )


async def test_after_redis_restarts_clients_reconnect_and_no_saved_message_is_lost(
    deployment: Deployment, private_redis: RedisServer
) -> None:
    env = deployment.env()
    with ExitStack() as processes:
        port = processes.enter_context(web_server(env, workdir=deployment.workdir))
        site = f"http://127.0.0.1:{port}"
        processes.enter_context(celery_worker(env, workdir=deployment.workdir))
        await eventually(lambda: _ready_is(site, 200), within=30, what="ready at start")
        clients = [await chat_client(site), await chat_client(site)]
        try:
            before = [await answered(client) for client in clients]
            saved_before = {a["message_id"]: _saved(deployment, a["message_id"]) for a in before}
            messages_before = deployment.query("SELECT count(*) FROM chat_message")

            private_redis.stop()
            outage = await eventually(
                lambda: _ready_is(site, 503), within=10, what="/ready reports the outage"
            )
            assert {"cache", "channel_layer", "celery"} <= set(outage["failed"]), outage
            assert outage["checks"]["database"] == "OK"

            private_redis.start()
            await asyncio.gather(
                *(
                    eventually(
                        lambda c=client: _serving(c),
                        within=RECOVERS_WITHIN,
                        what="the client reconnected and gets predictions",
                    )
                    for client in clients
                )
            )
            after = [await answered(client) for client in clients]
            await eventually(
                lambda: _ready_is(site, 200), within=RECOVERS_WITHIN, what="/ready recovered"
            )
        finally:
            await asyncio.gather(*(client.close() for client in clients))

    # Nothing saved before the outage went missing or changed, and the new ones were added.
    assert {a: _saved(deployment, a) for a in saved_before} == saved_before
    assert all(row == ("answered", a["text"]) for row, a in zip(saved_before.values(), before))
    assert deployment.query("SELECT count(*) FROM chat_message") == messages_before + 2 * len(after)


async def test_requests_and_sockets_recover_when_postgresql_restarts(tmp_path: Path) -> None:
    require_binary("initdb")
    require_binary("redis-server")
    with ExitStack() as owned:
        postgres = PostgresServer(owned.enter_context(scratch_dir("hscjit-pg-")))
        postgres.init()
        postgres.start()
        owned.callback(postgres.stop)
        redis = RedisServer(tmp_path)
        redis.start()
        owned.callback(redis.stop)
        deployment = Deployment(
            workdir=tmp_path,
            database_url=postgres.url,
            redis_url=redis.url,
            media_root=tmp_path / "media",
        )
        deployment.load_demo()
        # A request waits this long for a connection before failing (the default is 10 s).
        env = deployment.env(DB_POOL_TIMEOUT="2")
        port = owned.enter_context(web_server(env, workdir=tmp_path))
        site = f"http://127.0.0.1:{port}"
        owned.enter_context(celery_worker(env, workdir=tmp_path))
        await eventually(lambda: _ready_is(site, 200), within=30, what="ready at start")
        pid = await health_pid(site)
        client = await chat_client(site)
        try:
            await answered(client)

            postgres.stop()
            outage = await eventually(
                lambda: _ready_is(site, 503), within=10, what="/ready reports the outage"
            )
            assert "database" in outage["failed"], outage
            async with httpx.AsyncClient(timeout=15) as http:
                assert (await http.get(f"{site}/chat/")).status_code >= 500
            # The socket stays open and says the service is unavailable, per the protocol.
            refused = await client.ask(DEMO_QUESTION, product_id=DEMO_PRODUCT)
            assert (refused["type"], refused["code"]) == ("error", "unavailable"), refused
            assert client.connected

            postgres.start()
            await eventually(
                lambda: _ready_is(site, 200), within=RECOVERS_WITHIN, what="/ready recovered"
            )
            # A new customer (a new session over HTTP, a new socket) and the one that stayed.
            newcomer = await chat_client(site)
            try:
                await answered(newcomer)
            finally:
                await newcomer.close()
            await eventually(
                lambda: _serving(client), within=RECOVERS_WITHIN, what="the old socket serves"
            )
            await answered(client)
            assert await health_pid(site) == pid, "the web process was not restarted"
        finally:
            await client.close()


async def test_a_fetch_killed_with_its_worker_is_redelivered_and_ends_ready(
    deployment: Deployment, vendor: VendorServer
) -> None:
    pages = [f"RX-5 page {n}: tempo, swing and pattern chaining." for n in range(12)]
    body = make_pdf(pages)
    # The first download trickles, so the worker is surely killed in the middle of it.
    url = vendor.add("/rx-5.pdf", body=body, chunk=512, drip=1.0)
    product_pk = deployment.import_product(
        catalog_id="quillfeather-rx-5", name="Quillfeather RX-5 Rhythm Composer", manual_url=url
    )
    manual_sql = (
        "SELECT {} FROM manuals_manual m JOIN manuals_documentlink l ON l.manual_id = m.id"
        " WHERE l.product_id = %s"
    )
    env = deployment.env(CELERY_VISIBILITY_TIMEOUT="4", MANUAL_LEASE_SECONDS="6")
    with ExitStack() as processes:
        port = processes.enter_context(web_server(env, workdir=deployment.workdir))
        site = f"http://127.0.0.1:{port}"
        first = processes.enter_context(
            celery_worker(env, workdir=deployment.workdir, name="first")
        )
        client = await chat_client(site)
        try:
            await client.send(
                "select", {"type": "select", "product_id": "quillfeather-rx-5"}, wait=True
            )

            async def fetching() -> bool:
                status = deployment.query(manual_sql.format("m.status"), product_pk)
                return status == "fetching" and vendor.hits["/rx-5.pdf"] == 1

            await eventually(fetching, within=30, what="the first worker is downloading")
            first.kill()
            vendor.add("/rx-5.pdf", body=body)
            processes.enter_context(celery_worker(env, workdir=deployment.workdir, name="second"))

            async def ready_manual() -> bool:
                return deployment.query(manual_sql.format("m.status"), product_pk) == "ready"

            await eventually(ready_manual, within=60, what="the manual ends ready")
            await eventually(
                lambda: _heard_ready(client), within=10, what="the client hears it ready"
            )
        finally:
            await client.close()
    assert vendor.hits["/rx-5.pdf"] == 2
    assert deployment.query(manual_sql.format("m.page_count"), product_pk) == len(pages)
    statuses = [m["status"] for m in client.statuses]
    assert statuses[0] == "queued" and statuses[-1] == "ready"
    assert statuses.count("fetching") == 2, statuses


async def _heard_ready(client: ChatClient) -> bool:
    return bool(client.statuses) and client.statuses[-1]["status"] == "ready"
