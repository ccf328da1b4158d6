"""Chat sockets through a Redis outage (issue 14, item 4): daphne and a Celery worker on a
private redis-server that stops and starts again on the same port while customers are connected.

Typing needs no Redis (the prediction index lives in the web process), nor does an answer
from a ready manual (the database and the stored index); following a product's documents
does (the channel layer), so a `select` is answered `unavailable`, and the socket stays open.
Redis forgets every group when it restarts: each socket joins its groups again, so the
status pushes of a download that went on through the outage still reach the customer.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

import pytest
import redis
from django.conf import settings
from django.utils.module_loading import import_string

from apps.devtools.loadclient import ChatClient
from apps.devtools.processes import RedisServer, celery_worker, web_server
from apps.manuals.tests.conftest import VendorServer, make_pdf
from hscjit.tests.system.support import (
    DEMO_PRODUCT,
    Deployment,
    answered,
    chat_client,
    eventually,
    top_prediction,
)

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(120)]

# The issue saw every socket closed with 1011 within a second of Redis going away: typing for
# this long through the outage shows they stay.
HELD_FOR = 5.0
# Another demo product with a ready manual.
OTHER_PRODUCT = "lumenvale-lp-4"
# A product whose manual is still downloading (slowly) while Redis is away.
SLOW_PRODUCT = "quillfeather-rx-5"


async def _select(client: ChatClient, product_id: str) -> dict:
    reply = await asyncio.wait_for(
        client.send("select", {"type": "select", "product_id": product_id}, wait=True), 15
    )
    assert reply is not None
    return reply


async def _keeps_predicting(typists: dict[ChatClient, tuple[str, str]], *, seconds: float) -> None:
    """Each client types its text and gets its product, again and again, for `seconds`."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for client, (text, product_id) in typists.items():
            assert await top_prediction(client, text) == product_id
            assert client.connected, f"socket closed with {client.closed_code}"
        await asyncio.sleep(0.25)


async def _heard(client: ChatClient, status: str) -> bool:
    return any(s["status"] == status and s["product_id"] == SLOW_PRODUCT for s in client.statuses)


async def test_sockets_stay_open_through_a_redis_outage_and_recover_without_internal_errors(
    deployment: Deployment, private_redis: RedisServer, vendor: VendorServer
) -> None:
    # Sixteen bytes a second: the download lasts the whole outage, until the test lets it end.
    slow = vendor.add(
        "/rx-5.pdf", body=make_pdf([f"RX-5 page {n}: swing." for n in range(3)]), chunk=16, drip=1
    )
    product_pk = deployment.import_product(
        catalog_id=SLOW_PRODUCT, name="Quillfeather RX-5 Rhythm Composer", manual_url=slow
    )
    manual_id = deployment.query(
        "SELECT manual_id FROM manuals_documentlink WHERE product_id = %s", product_pk
    )
    env = deployment.env()
    with ExitStack() as processes:
        port = processes.enter_context(web_server(env, workdir=deployment.workdir))
        site = f"http://127.0.0.1:{port}"
        processes.enter_context(celery_worker(env, workdir=deployment.workdir))
        asker, watcher = await chat_client(site), await chat_client(site)
        clients = [asker, watcher]
        try:
            await answered(asker)
            assert (await _select(watcher, SLOW_PRODUCT))["type"] == "selected"
            await eventually(lambda: _heard(watcher, "fetching"), within=30, what="downloading")

            private_redis.stop()
            await _keeps_predicting(
                {
                    asker: ("lumenvale lx-88", DEMO_PRODUCT),
                    watcher: ("quillfeather rx-5", SLOW_PRODUCT),
                },
                seconds=HELD_FOR,
            )
            # The manual is ready: the answer comes from the database and the stored index.
            await answered(asker)
            refused = await _select(asker, OTHER_PRODUCT)
            assert (refused["type"], refused["code"]) == ("error", "unavailable"), refused
            # A new customer during the outage gets a socket that answers (the answer's
            # product becomes its focus, whose documents it follows once Redis is back) and
            # predicts.
            newcomer = await chat_client(site)
            clients.append(newcomer)
            await answered(newcomer)
            assert await top_prediction(newcomer, "lumenvale lx-88") == DEMO_PRODUCT
            assert all(client.connected for client in clients)

            private_redis.start()
            # The first select and ask after Redis is back succeed, on every socket.
            for client in (asker, newcomer):
                selected = await _select(client, OTHER_PRODUCT)
                assert selected["type"] == "selected", selected
                await answered(client)
            # The watcher joined its manual's group again (the restarted Redis had none)...
            group = f"asgi:group:manual-status.{manual_id}"
            with redis.Redis.from_url(private_redis.url) as server:

                async def joined() -> bool:
                    return server.zcard(group) == 1

                await eventually(joined, within=10, what="the group joined again")
            # ...so it hears the download end.
            vendor.routes["/rx-5.pdf"].drip = 0
            await eventually(
                lambda: _heard(watcher, "ready"), within=30, what="the watcher hears ready"
            )
            assert (await _select(watcher, OTHER_PRODUCT))["type"] == "selected"
            await answered(watcher)
            assert all(client.connected for client in clients)
        finally:
            await asyncio.gather(*(client.close() for client in clients))
    # The one refused select is the only error any socket saw: no `internal`, and nothing
    # after an answer that was given.
    assert asker.recorder.errors == {"unavailable": 1}, asker.recorder.errors
    assert watcher.recorder.errors == newcomer.recorder.errors == {}


async def test_the_channel_layer_serves_the_first_message_after_a_restart(
    private_redis: RedisServer,
) -> None:
    # The settings' layer, on the private Redis: its pooled connection dies with the server.
    host = {
        **settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0],
        "address": private_redis.url,
    }
    layer = import_string(settings.CHANNEL_LAYERS["default"]["BACKEND"])(hosts=[host])
    try:
        channel = await layer.new_channel()
        await layer.group_add("outage", channel)
        private_redis.stop()
        private_redis.start()
        await layer.group_add("outage", channel)
        await layer.group_send("outage", {"type": "chat.hello"})
        assert (await layer.receive(channel))["type"] == "chat.hello"
    finally:
        await layer.close_pools()
