from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from apps.manuals.models import Manual
from apps.manuals.tests.conftest import make_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(manual_settings):
    manual_settings.CELERY_ENABLED = False
    return manual_settings


def test_prefetch_manuals_reads_missing_manuals_and_reports_failures(vendor):
    good = Manual.objects.create(source_url=vendor.add("/ok.pdf", body=make_pdf(["fine"])))
    bad = Manual.objects.create(source_url=vendor.url("/gone.pdf"))
    ready = Manual.objects.create(source_url=vendor.url("/ready.pdf"), status="ready")
    out, err = StringIO(), StringIO()
    call_command("prefetch_manuals", stdout=out, stderr=err)
    assert Manual.objects.get(pk=good.pk).status == "ready"
    assert Manual.objects.get(pk=bad.pk).status == "failed"
    assert Manual.objects.get(pk=ready.pk).status == "ready"
    assert vendor.hits["/ready.pdf"] == 0
    assert "2 manuals: 1 failed, 1 ready" in out.getvalue()
    assert f"manual {bad.pk}: The manual could not be downloaded" in err.getvalue()


def test_prefetch_manuals_can_pick_failed_manuals_only(vendor):
    failed = Manual.objects.create(
        source_url=vendor.add("/back.pdf", body=make_pdf(["back"])), status="failed"
    )
    missing = Manual.objects.create(source_url=vendor.url("/later.pdf"))
    call_command("prefetch_manuals", "--status", "failed", stdout=StringIO())
    assert Manual.objects.get(pk=failed.pk).status == "ready"
    assert Manual.objects.get(pk=missing.pk).status == "missing"


def test_a_manuals_page_shows_its_progress_as_a_percentage(admin_client):
    manual = Manual.objects.create(source_url="https://vendor.example/m.pdf", progress=0.4)
    html = admin_client.get(reverse("admin:manuals_manual_change", args=[manual.pk])).content
    assert b"40 %" in html and b"0.4<" not in html


def test_the_admin_lists_manuals_and_refuses_an_upload_that_is_not_a_pdf(admin_client):
    manual = Manual.objects.create(source_url="https://vendor.example/m.pdf", error="x" * 200)
    listing = admin_client.get(reverse("admin:manuals_manual_changelist") + "?status=missing")
    assert listing.status_code == 200 and b"vendor.example" in listing.content
    response = admin_client.post(
        reverse("admin:manuals_manual_change", args=[manual.pk]),
        {
            "title": "",
            "kind": "pdf",
            "source_url": manual.source_url,
            "backup_url": "",
            "uploaded_file": SimpleUploadedFile("m.pdf", b"\x89PNG not a pdf"),
        },
    )
    assert response.status_code == 200
    assert b"This file is not a PDF." in response.content


def test_the_fetch_now_action_queues_the_selected_manuals(admin_client, monkeypatch):
    from apps.manuals.services import queueing

    queued: list[tuple] = []
    monkeypatch.setattr(queueing, "enqueue", lambda task, *args: queued.append((task, args)))
    manual = Manual.objects.create(source_url="https://vendor.example/m.pdf", status="failed")
    response = admin_client.post(
        reverse("admin:manuals_manual_changelist"),
        {"action": "fetch_now", "_selected_action": [manual.pk]},
    )
    assert response.status_code == 302
    assert queued == [("apps.manuals.tasks.prefetch_manual", (manual.pk,))]
    assert Manual.objects.get(pk=manual.pk).status == "queued"
