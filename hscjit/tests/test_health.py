from __future__ import annotations

import asyncio

import pytest
from django.test import Client, override_settings

from apps.devtools.testing import eventually
from hscjit.metrics import WEBSOCKET_ACTIVE_CONNECTIONS

CLOSED_PORT = "redis://127.0.0.1:1/0"
pytestmark = pytest.mark.django_db


def test_health_reports_the_process_without_asking_any_dependency(client: Client) -> None:
    with override_settings(
        CACHES={
            "default": {"BACKEND": "hscjit.cache_backends.RedisCache", "LOCATION": CLOSED_PORT}
        },
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [CLOSED_PORT]},
            }
        },
    ):
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["uptime_seconds"] >= 0
    assert body["memory_rss_bytes"] > 0
    assert {"cpu_seconds", "cpu_percent", "pid"} <= body.keys()


def test_health_counts_this_process_open_websockets(client: Client) -> None:
    before = client.get("/health").json()["websocket_connections"]
    WEBSOCKET_ACTIVE_CONNECTIONS.inc()
    try:
        assert client.get("/health").json()["websocket_connections"] == before + 1
    finally:
        WEBSOCKET_ACTIVE_CONNECTIONS.dec()


@override_settings(CELERY_ENABLED=False)
def test_ready_is_200_when_every_dependency_answers(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "disk"}


@override_settings(
    CELERY_ENABLED=False,
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [CLOSED_PORT]},
        }
    },
)
def test_ready_is_503_naming_the_channel_layer_when_it_is_unreachable(client: Client) -> None:
    # override_settings gives a new layer (Channels resets its layers when CHANNEL_LAYERS
    # changes), and the project's test plugin drops it after the test.
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["channel_layer"]


@pytest.mark.services
async def test_the_channel_layer_check_passes_while_a_socket_of_this_process_listens() -> None:
    """An open chat socket's receive holds channels_redis' per-process receive lock; the
    check's message must come through that receive rather than wait for the lock."""
    from channels.layers import get_channel_layer

    from hscjit.health import ChannelLayerRoundTrip

    layer = get_channel_layer()
    listening = asyncio.create_task(layer.receive(await layer.new_channel()))
    await eventually(
        lambda: layer.receive_lock is not None and layer.receive_lock.locked(),
        what="the socket's receive holds the lock",
    )
    try:
        await ChannelLayerRoundTrip().run()
    finally:
        listening.cancel()


@override_settings(
    CELERY_ENABLED=False,
    READY_CHECK_TIMEOUT=0.5,
    CACHES={
        "default": {
            "BACKEND": "hscjit.cache_backends.RedisCache",
            "LOCATION": CLOSED_PORT,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    },
)
def test_ready_is_503_naming_the_cache_when_redis_is_unreachable(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["checks"]["cache"] != "OK"


@override_settings(CELERY_ENABLED=False, READY_MIN_FREE_DISK_MB=10**12)
def test_ready_is_503_naming_the_disk_when_manuals_have_no_room(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["disk"]


@pytest.mark.services
@override_settings(CELERY_ENABLED=True, READY_CHECK_TIMEOUT=0.5)
def test_ready_is_503_naming_celery_when_no_worker_answers_the_ping(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 503
    assert "celery" in response.json()["failed"]


def test_metrics_exposes_ours_and_django_prometheus_in_prometheus_format(
    client: Client,
) -> None:
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    for name in (
        "websocket_active_connections",
        "prediction_latency_seconds",
        "answer_first_delta_seconds",
        "answer_total_seconds",
        "manual_fetch_seconds",
        "manual_extract_seconds",
        "cache_hits_total",
        "cache_misses_total",
        "websocket_errors_total",
        "background_tasks_active",
        "products_predicted_total",
        "documents_indexed_total",
        "answers_total",
        "django_http_requests_total_by_view_transport_method_total",
        "django_db_execute_total",
        "django_cache_get_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text or name in text, name
