"""What a catalog editor (staff, not a superuser) meets on the Manuals list: the tools it
offers open, and an action on a filtered list reports what was selected."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from apps.manuals.models import Manual

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(manual_settings):
    manual_settings.CELERY_ENABLED = False
    return manual_settings


@pytest.fixture
def editor_client() -> Client:
    user = User.objects.create_user("editor", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Catalog editors"))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "view",
    [
        "admin:manuals_manual_upload",
        "admin:manuals_manual_bulk_attach",
        "admin:manuals_documentcandidate_changelist",
        "admin:manuals_discoverysource_changelist",
        "admin:manuals_discoverytarget_changelist",
        "admin:products_brandalias_changelist",
        "admin:products_termalias_changelist",
    ],
)
def test_an_editor_opens_every_document_tool_the_admin_offers(editor_client, view):
    assert editor_client.get(reverse(view)).status_code == 200


def test_the_manuals_list_offers_upload_and_csv_only_to_staff_who_may_add(editor_client):
    url = reverse("admin:manuals_manual_changelist")
    assert reverse("admin:manuals_manual_upload") in editor_client.get(url).content.decode()

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(
        *Group.objects.get(name="Catalog editors").permissions.filter(codename="view_manual")
    )
    client = Client()
    client.force_login(viewer)
    page = client.get(url).content.decode()
    assert reverse("admin:manuals_manual_upload") not in page
    assert reverse("admin:manuals_manual_bulk_attach") not in page
    # Asked for directly, the admin's own 403 page, not an empty response.
    refused = client.get(reverse("admin:manuals_manual_upload"))
    assert refused.status_code == 403 and b"403" in refused.content


def test_fetch_now_on_a_list_filtered_by_status_counts_the_manuals_selected(editor_client):
    failed = [
        Manual.objects.create(
            source_url=f"https://vendor.example.org/{n}.pdf",
            status=Manual.Status.FAILED,
            error="did not answer in time",
        )
        for n in range(2)
    ]
    response = editor_client.post(
        reverse("admin:manuals_manual_changelist") + "?status__exact=failed",
        {"action": "fetch_now", "_selected_action": [m.pk for m in failed]},
        follow=True,
    )
    said = [str(m) for m in response.context["messages"]]
    assert "2 of 2 manuals queued for fetching." in said
