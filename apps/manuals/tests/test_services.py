from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.utils import timezone

from apps.manuals import services
from apps.manuals.models import Manual, ManualPage
from apps.manuals.selectors import manual_status_payload
from apps.manuals.services import queueing
from apps.manuals.tests.conftest import make_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(manual_settings):
    return manual_settings


def manual_at(url: str, **fields) -> Manual:
    return Manual.objects.create(source_url=url, **fields)


def test_it_fetches_extracts_and_stores_the_pages_of_a_manual(vendor):
    manual = manual_at(vendor.add("/rc600.pdf", body=make_pdf(["Intro", "Press REC"])))
    manual = services.ingest_manual(manual_id=manual.pk)
    assert manual.status == Manual.Status.READY
    assert manual.page_count == 2
    assert manual.version == 1
    assert manual.kind == "pdf"
    assert manual.stored_file.name.endswith(".pdf")
    assert manual.content_hash and manual.size_bytes and manual.fetched_at and manual.extracted_at
    assert list(manual.pages.values_list("number", flat=True)) == [1, 2]
    assert "Press REC" in manual.pages.get(number=2).text
    assert manual_status_payload(manual=manual) == {
        "manual_id": manual.pk,
        "status": "ready",
        "progress": 1.0,
        "pages": 2,
        "error": None,
    }


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"body": make_pdf(["secret"], user_password="pw")}, "password-protected"),
        ({"body": make_pdf(["a", "b"])[:600]}, "damaged or incomplete"),
        ({"body": b"%PDF-1.4\n" + bytes(range(256)) * 20}, "damaged or incomplete"),
        ({"body": b"\x89PNG\r\n\x1a\n" + b"\0" * 64}, "neither a PDF nor a web page"),
        ({"status": 404, "body": b"gone"}, "answered 404"),
        ({"body": make_pdf(["p"] * 12)}, "12 pages, more than the 10"),
    ],
    ids=["encrypted", "truncated", "garbage", "not-a-pdf", "missing", "over-page-cap"],
)
def test_a_broken_or_hostile_manual_ends_failed_with_a_readable_reason(
    vendor, settings, route, reason
):
    settings.MANUAL_MAX_PAGES = 10
    manual = services.ingest_manual(manual_id=manual_at(vendor.add("/m.pdf", **route)).pk)
    assert manual.status == Manual.Status.FAILED
    assert reason in manual.error
    assert "Traceback" not in manual.error
    assert manual_status_payload(manual=manual)["error"] == manual.error
    assert not manual.pages.exists()


def test_a_manual_without_link_or_upload_fails_with_a_reason_and_is_not_queued():
    manual = Manual.objects.create(title="orphan")
    assert services.request_prefetch(manual_id=manual.pk) is False
    manual.refresh_from_db()
    assert manual.status == Manual.Status.FAILED
    assert manual.error == services.NO_SOURCE


def test_request_prefetch_queues_once_and_then_deduplicates(
    vendor, django_capture_on_commit_callbacks
):
    manual = manual_at(vendor.url("/m.pdf"))
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.request_prefetch(manual_id=manual.pk) is True
        assert services.request_prefetch(manual_id=manual.pk) is False
    manual.refresh_from_db()
    assert manual.status == Manual.Status.QUEUED
    # One status publish and one task, not two.
    assert len(callbacks) == 2


def test_a_ready_manual_is_not_queued_again(vendor):
    manual = manual_at(vendor.url("/m.pdf"), status=Manual.Status.READY)
    assert services.request_prefetch(manual_id=manual.pk) is False


def test_a_failed_manual_waits_before_a_customer_can_retry_it_but_staff_can_force_it(vendor):
    manual = services.ingest_manual(manual_id=manual_at(vendor.url("/gone.pdf")).pk)
    assert manual.status == Manual.Status.FAILED
    assert services.request_prefetch(manual_id=manual.pk) is False
    assert services.fetch_now(manual_id=manual.pk) is True


def test_a_fetch_stuck_by_a_dead_worker_is_reclaimed_once_its_lease_expires(vendor):
    url = vendor.add("/m.pdf", body=make_pdf(["recovered"]))
    stale = timezone.now() - timedelta(seconds=1)
    manual = manual_at(url, status=Manual.Status.FETCHING, lease_token="dead", lease_until=stale)
    manual = services.prefetch(manual_id=manual.pk, last_attempt=True)
    assert manual.status == Manual.Status.READY


def test_a_fetch_held_by_a_live_worker_is_left_alone(vendor):
    later = timezone.now() + timedelta(minutes=5)
    manual = manual_at(
        vendor.url("/m.pdf"), status=Manual.Status.FETCHING, lease_token="alive", lease_until=later
    )
    with pytest.raises(services.ManualBusy):
        services.prefetch(manual_id=manual.pk, last_attempt=True)
    assert vendor.hits["/m.pdf"] == 0


def test_running_the_prefetch_twice_fetches_once(vendor):
    url = vendor.add("/m.pdf", body=make_pdf(["once"]))
    manual = manual_at(url, status=Manual.Status.QUEUED)
    services.prefetch(manual_id=manual.pk, last_attempt=True)
    manual = services.prefetch(manual_id=manual.pk, last_attempt=True)
    assert manual.status == Manual.Status.READY and manual.version == 1
    assert vendor.hits["/m.pdf"] == 1


def test_a_transient_failure_goes_back_to_the_queue_until_the_last_attempt(vendor):
    manual = manual_at(vendor.add("/m.pdf", status=503, body=b"busy"), status="queued")
    with pytest.raises(services.ManualTransientError):
        services.prefetch(manual_id=manual.pk, last_attempt=False)
    manual.refresh_from_db()
    assert manual.status == Manual.Status.QUEUED
    manual = services.prefetch(manual_id=manual.pk, last_attempt=True)
    assert manual.status == Manual.Status.FAILED
    assert "answered 503" in manual.error


def test_a_refresh_answered_304_keeps_the_manual_unchanged(vendor):
    url = vendor.add("/m.pdf", body=make_pdf(["v1 text"]), etag='"v1"')
    manual = services.ingest_manual(manual_id=manual_at(url).pk)
    pages = list(manual.pages.values_list("pk", flat=True))
    manual = services.refresh(manual_id=manual.pk, last_attempt=True)
    assert vendor.requests[-1]["if-none-match"] == '"v1"'
    assert manual.version == 1
    assert list(manual.pages.values_list("pk", flat=True)) == pages


def test_a_refresh_with_new_content_replaces_the_pages_and_bumps_the_version(
    vendor, django_capture_on_commit_callbacks
):
    url = vendor.add("/m.pdf", body=make_pdf(["old text"]))
    manual = services.ingest_manual(manual_id=manual_at(url).pk)
    old_file = manual.stored_file.name
    vendor.add("/m.pdf", body=make_pdf(["new text", "more"]))
    with django_capture_on_commit_callbacks(execute=True):
        manual = services.refresh(manual_id=manual.pk, last_attempt=True)
    assert manual.version == 2 and manual.page_count == 2
    assert "new text" in manual.pages.get(number=1).text
    assert not manual.stored_file.storage.exists(old_file)


def test_a_failed_refresh_keeps_the_old_pages_and_the_manual_ready(vendor):
    url = vendor.add("/m.pdf", body=make_pdf(["good text"]))
    manual = services.ingest_manual(manual_id=manual_at(url).pk)
    vendor.add("/m.pdf", body=make_pdf(["x"], user_password="pw"))
    manual = services.refresh(manual_id=manual.pk, last_attempt=True)
    assert manual.status == Manual.Status.READY and manual.version == 1
    assert "good text" in manual.pages.get(number=1).text
    assert manual_status_payload(manual=manual)["error"] is None


def test_an_uploaded_file_is_used_instead_of_the_link(vendor):
    manual = manual_at(vendor.url("/never.pdf"))
    manual.uploaded_file.save("up.pdf", ContentFile(make_pdf(["uploaded text"])))
    manual = services.ingest_manual(manual_id=manual.pk)
    assert manual.status == Manual.Status.READY
    assert "uploaded text" in manual.pages.get(number=1).text
    assert manual.stored_file.name == manual.uploaded_file.name
    assert vendor.hits["/never.pdf"] == 0


def test_a_large_document_is_handed_to_its_own_task(
    vendor, settings, django_capture_on_commit_callbacks
):
    settings.MANUAL_LARGE_DOCUMENT_BYTES = 1
    url = vendor.add("/big.pdf", body=make_pdf([f"page {n}" for n in range(30)]))
    manual = manual_at(url, status=Manual.Status.QUEUED)
    with django_capture_on_commit_callbacks() as callbacks:
        manual = services.prefetch(manual_id=manual.pk, last_attempt=True)
    assert manual.status == Manual.Status.EXTRACTING and not manual.pages.exists()
    assert callbacks  # the index task was enqueued
    manual = services.index_large_document(manual_id=manual.pk)
    assert manual.status == Manual.Status.READY and manual.pages.count() == 30


def test_reextract_reads_the_stored_original_again(vendor):
    manual = services.ingest_manual(
        manual_id=manual_at(vendor.add("/m.pdf", body=make_pdf(["again"]))).pk
    )
    ManualPage.objects.filter(manual=manual).update(text="stale")
    manual = services.reextract(manual_id=manual.pk)
    assert manual.version == 2 and "again" in manual.pages.get(number=1).text
    assert vendor.hits["/m.pdf"] == 1


def test_each_status_change_reaches_the_manuals_group(
    vendor, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setattr(queueing, "enqueue", lambda task, *args: None)
    layer = get_channel_layer()
    url = vendor.add("/m.pdf", body=make_pdf([f"page {n}" for n in range(40)]))
    manual = manual_at(url)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(services.manual_group(manual.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.request_prefetch(manual_id=manual.pk)
        services.prefetch(manual_id=manual.pk, last_attempt=True)

    async def receive() -> dict:
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    statuses = [async_to_sync(receive)()]
    while statuses[-1]["status"] not in ("ready", "failed"):
        statuses.append(async_to_sync(receive)())
    kinds = [s["status"] for s in statuses]
    assert kinds[0] == "queued" and "fetching" in kinds and kinds[-1] == "ready"
    assert any(s["status"] == "extracting" and 0 < s["progress"] < 1 for s in statuses)
    assert all(s["type"] == "manual.status" and s["manual_id"] == manual.pk for s in statuses)
