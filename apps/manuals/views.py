"""The stored copy of a manual, so that a citation's `#page=N` opens the cited page."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from apps.manuals.models import Manual


@require_GET
def document(request: HttpRequest, manual_id: int) -> HttpResponse:
    manual = get_object_or_404(Manual, pk=manual_id)
    if manual.kind == Manual.Kind.HTML and manual.source_url:
        # An HTML manual is read where it lives; our copy is only text for retrieval.
        return HttpResponseRedirect(manual.source_url)
    stored = manual.stored_file or manual.uploaded_file
    if not stored or not stored.storage.exists(stored.name):
        raise Http404("No stored copy of this manual")
    filename = PurePosixPath(stored.name).name.replace('"', "")
    if manual.kind == Manual.Kind.HTML:
        response = FileResponse(stored.open("rb"), content_type="text/html; charset=utf-8")
        # Vendor HTML served from our origin must not run scripts or reach our cookies.
        response["Content-Security-Policy"] = "sandbox"
    else:
        response = FileResponse(stored.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
