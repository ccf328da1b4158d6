"""Two web processes and a Celery worker on one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

import httpx
import pytest

from apps.devtools.loadclient import ChatClient
from apps.devtools.processes import celery_worker, web_server
from apps.manuals.tests.conftest import VendorServer, make_pdf
from hscjit.tests.system.support import (
    DemoTemplate,
    Deployment,
    chat_client,
    eventually,
    health_pid,
    top_prediction,
)

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(120)]

PRODUCT_ID = "quillfeather-qd-7"
PRODUCT_NAME = "Quillfeather QD-7 Drum Machine"
# A name no product has yet: staff teach it to the catalog through the admin.
ALIAS = "midnight thunderbox"
EDIT_VISIBLE_WITHIN = 2.0


async def _admin_add_alias(
    base_url: str, *, login: tuple[str, str], product_pk: int, alias: str
) -> None:
    """What a staff member does in the admin: log in, add an alias, save."""
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as staff:
        await staff.get("/admin/login/")
        username, password = login
        response = await staff.post(
            "/admin/login/",
            data={
                "username": username,
                "password": password,
                "next": "/admin/",
                "csrfmiddlewaretoken": staff.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302, "the staff login was refused"
        response = await staff.post(
            "/admin/products/productalias/add/",
            data={
                "product": str(product_pk),
                "alias": alias,
                "_save": "Save",
                # Logging in rotates the token.
                "csrfmiddlewaretoken": staff.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302, response.text[:2000]


async def test_both_web_processes_push_every_step_of_a_fetch_and_see_a_staff_edit_at_once(
    deployment: Deployment, vendor: VendorServer, demo_template: DemoTemplate
) -> None:
    pages = [f"QD-7 page {n}: pattern memory, swing and sync settings." for n in range(30)]
    url = vendor.add("/qd-7.pdf", body=make_pdf(pages), chunk=16 * 1024, drip=0.05)
    product_pk = deployment.import_product(catalog_id=PRODUCT_ID, name=PRODUCT_NAME, manual_url=url)
    env = deployment.env()
    with ExitStack() as processes:
        port_a = processes.enter_context(web_server(env, workdir=deployment.workdir))
        port_b = processes.enter_context(web_server(env, workdir=deployment.workdir))
        site_a, site_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        assert await health_pid(site_a) != await health_pid(site_b)
        a, b = await chat_client(site_a), await chat_client(site_b)
        try:
            # A's select queues the fetch; with no worker running yet it waits in the queue,
            # so B is watching before the worker takes it.
            select = {"type": "select", "product_id": PRODUCT_ID}
            await a.send("select", select, wait=True)
            await eventually(lambda: _statuses(a), within=10, what="A hears the fetch queued")
            selected_b = await b.send("select", select, wait=True)
            assert selected_b is not None
            assert selected_b["product"]["manual"]["status"] == "queued"

            processes.enter_context(celery_worker(env, workdir=deployment.workdir))
            await eventually(
                lambda: _ended(a, b), within=60, what="both clients hear the manual ready"
            )
            seen_a = [m["status"] for m in a.statuses]
            assert seen_a[0] == "queued"
            assert seen_a[1] == "fetching" and "extracting" in seen_a and seen_a[-1] == "ready"
            # Every push after the one B could not have heard (it came before B watched), in
            # the same order with the same fields, through the other web process.
            assert b.statuses == a.statuses[1:]
            assert a.statuses[-1]["pages"] == len(pages)
            assert vendor.hits["/qd-7.pdf"] == 1, "two processes asked, one fetch ran"

            assert await top_prediction(b, ALIAS) != PRODUCT_ID
            await _admin_add_alias(
                site_a, login=demo_template.staff_login, product_pk=product_pk, alias=ALIAS
            )
            saved = time.monotonic()
            await eventually(
                lambda: _predicts(b, ALIAS, PRODUCT_ID),
                within=EDIT_VISIBLE_WITHIN,
                every=0.1,
                what="process B predicts the product from the alias added on A",
            )
            assert time.monotonic() - saved <= EDIT_VISIBLE_WITHIN
        finally:
            await asyncio.gather(a.close(), b.close())


async def _statuses(client: ChatClient) -> bool:
    return bool(client.statuses)


async def _ended(*clients: ChatClient) -> bool:
    return all(c.statuses and c.statuses[-1]["status"] in {"ready", "failed"} for c in clients)


async def _predicts(client: ChatClient, text: str, product_id: str) -> bool:
    return await top_prediction(client, text) == product_id
