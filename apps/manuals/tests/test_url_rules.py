"""One rule for a manual's address, at every door (issue 14, items 14 and 17)."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.manuals.models import Manual
from apps.manuals.tests.conftest import make_pdf
from apps.products.importer.records import parse_record

pytestmark = pytest.mark.django_db

BAD = [
    ("http://0177.0.0.1/m.pdf", "shorthand form"),
    ("http://\uff56\uff45\uff4e\uff44\uff4f\uff52.com/m.pdf", "not allowed in a domain name"),
    ("http://vendor.com/m\r\n.pdf", "line break"),
    ("http://vendor.com/" + "x" * 1000, "longer than 1,000 characters"),
    ("http://localhost/m.pdf", "reserved for examples, tests or this machine"),
]


def _import(url: str):
    record = {
        "id": "p-1",
        "name": "P",
        "brand": "acme",
        "documentation": {"type": "pdf", "url": url},
    }
    return parse_record(
        record, file="f.json", position=1, file_brand=None, ceiling=Decimal(1_000_000)
    )


@pytest.mark.parametrize(("url", "reason"), BAD)
def test_the_importer_drops_a_bad_manual_address_saying_what_is_wrong(url, reason):
    parsed = _import(url)
    assert parsed.documentation is None
    assert any(reason in warning for warning in parsed.warnings), parsed.warnings


@pytest.mark.parametrize(("url", "reason"), BAD)
def test_the_admin_refuses_a_bad_manual_address_with_the_same_reason(admin_client, url, reason):
    response = admin_client.post(
        reverse("admin:manuals_manual_add"),
        {"title": "t", "kind": "pdf", "source_url": url, "backup_url": ""},
    )
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not Manual.objects.exists()


def test_prefetch_manuals_goes_on_past_a_malformed_address(manual_settings, vendor):
    manual_settings.CELERY_ENABLED = False
    # Rows written before the rule existed (or by hand) bypass the importer and the admin.
    bad = Manual.objects.create(source_url="http://0177.0.0.1/m.pdf")
    good = Manual.objects.create(source_url=vendor.add("/ok.pdf", body=make_pdf(["fine"])))
    out, err = StringIO(), StringIO()
    call_command("prefetch_manuals", "--sync", stdout=out, stderr=err)
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert "shorthand form" in bad.error
    assert Manual.objects.get(pk=good.pk).status == "ready"
    assert "2 manuals: 1 failed, 1 ready" in out.getvalue()
