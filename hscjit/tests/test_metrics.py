"""Every metric the issue names moves when its event happens, driven through the features."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.files.base import ContentFile
from django.test import Client

from apps.devtools.testing import sample
from apps.manuals import services as manual_services
from apps.manuals import tasks as manual_tasks
from apps.manuals.models import Manual
from apps.manuals.tests.conftest import make_pdf
from apps.sessions.tests.page_data import make_answerable_product, start_chat
from apps.sessions.tests.sockets import client_socket, receive_type


@pytest.mark.django_db(transaction=True)
async def test_socket_prediction_error_and_answer_metrics_move(client: Client) -> None:
    product = await database_sync_to_async(make_answerable_product)()
    session = await database_sync_to_async(start_chat)(client)
    open_before = sample("websocket_active_connections")
    predictions = sample("prediction_latency_seconds_count")
    predicted = sample("products_predicted_total")
    bad_json = sample("websocket_errors_total", code="bad_json")
    first_delta = sample("answer_first_delta_seconds_count")
    total = sample("answer_total_seconds_count")
    answered = sample("answers_total", state="answered", engine="extractive")

    socket = client_socket(client, session.pk)
    assert (await socket.connect())[0]
    # The server accepts before it checks the session; a pong means the checks are done.
    await socket.send_json_to({"type": "ping", "ref": "p"})
    await receive_type(socket, "pong")
    assert sample("websocket_active_connections") == open_before + 1

    await socket.send_json_to({"type": "typing", "ref": "t", "text": "lumenvale lx-88"})
    prediction = await receive_type(socket, "prediction")
    assert prediction["candidates"][0]["confident"] is True
    assert sample("prediction_latency_seconds_count") == predictions + 1
    assert sample("products_predicted_total") == predicted + 1

    await socket.send_to(text_data="{not json")
    await receive_type(socket, "error")
    assert sample("websocket_errors_total", code="bad_json") == bad_json + 1

    await socket.send_json_to(
        {
            "type": "ask",
            "ref": "q",
            "text": "How do I change the split point?",
            "product_id": product.catalog_id,
        }
    )
    end = await receive_type(socket, "answer_end")
    assert (end["state"], end["engine"]) == ("answered", "extractive")
    assert sample("answer_first_delta_seconds_count") == first_delta + 1
    assert sample("answer_total_seconds_count") == total + 1
    assert sample("answers_total", state="answered", engine="extractive") == answered + 1

    not_found = sample("websocket_errors_total", code="not_found")
    await socket.send_json_to({"type": "ask", "text": "Is it loud?", "product_id": "no-such-id"})
    assert (await receive_type(socket, "error"))["code"] == "not_found"
    assert sample("websocket_errors_total", code="not_found") == not_found + 1

    await socket.disconnect()
    assert sample("websocket_active_connections") == open_before


@pytest.mark.django_db
def test_fetching_and_indexing_a_manual_moves_the_manual_metrics(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    manual = Manual.objects.create(title="Upload", kind=Manual.Kind.PDF)
    manual.uploaded_file.save(
        "lx.pdf", ContentFile(make_pdf(["Page one text.", "Page two text."])), save=True
    )
    fetched = sample("manual_fetch_seconds_count", kind="pdf", outcome="ok")
    extracted = sample("manual_extract_seconds_count", kind="pdf", outcome="ok")
    indexed = sample("documents_indexed_total")

    manual = manual_services.ingest_manual(manual_id=manual.pk)

    assert manual.status == Manual.Status.READY
    assert sample("manual_fetch_seconds_count", kind="pdf", outcome="ok") == fetched + 1
    assert sample("manual_extract_seconds_count", kind="pdf", outcome="ok") == extracted + 1
    assert sample("documents_indexed_total") == indexed + 1


@pytest.mark.django_db
def test_a_running_background_task_is_counted_while_it_runs(monkeypatch) -> None:
    before = sample("background_tasks_active")
    seen: list[float] = []
    monkeypatch.setattr(
        manual_services, "prefetch", lambda **kwargs: seen.append(sample("background_tasks_active"))
    )
    manual_tasks.prefetch_manual.apply(args=[1])
    assert seen == [before + 1]
    assert sample("background_tasks_active") == before


@pytest.mark.django_db
def test_refresh_manuals_asks_a_refresh_of_ready_manuals_fetched_from_a_url(monkeypatch) -> None:
    ready = Manual.objects.create(source_url="https://a.example.invalid/1.pdf", status="ready")
    Manual.objects.create(source_url="https://a.example.invalid/2.pdf", status="failed")
    uploaded = Manual.objects.create(
        source_url="https://a.example.invalid/3.pdf", status="ready", uploaded_file="x.pdf"
    )
    asked: list[int] = []
    monkeypatch.setattr(
        manual_services, "request_refresh", lambda *, manual_id: asked.append(manual_id) or True
    )
    assert manual_tasks.refresh_manuals.apply().get() == 1
    assert asked == [ready.pk]
    assert uploaded.pk not in asked
    assert manual_tasks.refresh_manuals.apply().get() is None  # a duplicate run
