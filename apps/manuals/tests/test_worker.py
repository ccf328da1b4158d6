"""A separate Celery worker does the fetch; its status pushes reach a WebSocket client."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.urls import path

from apps.devtools.processes import celery_worker, project_env
from apps.manuals import services
from apps.manuals.models import Manual
from apps.manuals.tests.conftest import make_pdf

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


class StatusWatcher(AsyncJsonWebsocketConsumer):
    """Stands in for the chat consumer: joins a manual's group and forwards its pushes."""

    async def connect(self) -> None:
        manual_id = self.scope["url_route"]["kwargs"]["manual_id"]
        await self.channel_layer.group_add(services.manual_group(manual_id), self.channel_name)
        await self.accept()

    async def manual_status(self, event: dict) -> None:
        await self.send_json({**event, "type": "manual_status"})


@pytest.fixture
def worker(tmp_path, settings):
    settings.MANUAL_FETCH_ALLOWED_HOSTS = ["127.0.0.1:*"]
    database = urlparse(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]
    )
    # The worker reads the test database, which this test's transaction=True commits to.
    env = project_env(
        DATABASE_URL=database.geturl(),
        MANUAL_FETCH_ALLOWED_HOSTS="127.0.0.1:*",
        MEDIA_ROOT=str(tmp_path / "media"),
        DB_POOL="0",
    )
    with celery_worker(env, workdir=tmp_path) as process:
        yield process


async def test_the_status_reaches_a_websocket_client_when_a_worker_process_fetches(vendor, worker):
    assert settings.CELERY_ENABLED
    url = vendor.add("/manual.pdf", body=make_pdf([f"page {n}" for n in range(60)]))
    manual = await database_sync_to_async(Manual.objects.create)(source_url=url)
    app = URLRouter([path("ws/manual/<int:manual_id>/", StatusWatcher.as_asgi())])
    client = WebsocketCommunicator(app, f"/ws/manual/{manual.pk}/")
    connected, _ = await client.connect()
    assert connected
    try:
        assert await database_sync_to_async(services.request_prefetch)(manual_id=manual.pk)
        seen = [await client.receive_json_from(timeout=60)]
        while seen[-1]["status"] not in ("ready", "failed"):
            seen.append(await client.receive_json_from(timeout=60))
    finally:
        await client.disconnect()
    statuses = [message["status"] for message in seen]
    assert statuses[0] == "queued"
    assert "fetching" in statuses and "extracting" in statuses
    assert seen[-1] == {
        "type": "manual_status",
        "manual_id": manual.pk,
        "status": "ready",
        "progress": 1.0,
        "pages": 60,
        "error": None,
    }
    assert vendor.hits["/manual.pdf"] == 1
