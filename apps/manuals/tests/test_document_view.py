from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from apps.manuals.models import Manual


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db
def test_it_serves_the_stored_pdf_inline(client) -> None:
    manual = Manual.objects.create(title="LX-88", kind=Manual.Kind.PDF)
    manual.stored_file.save("lx88.pdf", ContentFile(b"%PDF-1.4 demo"))
    response = client.get(f"/manuals/{manual.pk}/document")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 demo"


@pytest.mark.django_db
def test_an_html_manual_redirects_to_its_source_page(client) -> None:
    manual = Manual.objects.create(kind=Manual.Kind.HTML, source_url="https://x.test/hx-2")
    response = client.get(f"/manuals/{manual.pk}/document")
    assert response.status_code == 302
    assert response["Location"] == "https://x.test/hx-2"


@pytest.mark.django_db
def test_it_answers_404_when_nothing_is_stored(client) -> None:
    manual = Manual.objects.create(title="Not fetched yet")
    assert client.get(f"/manuals/{manual.pk}/document").status_code == 404
    assert client.get("/manuals/999999/document").status_code == 404
