"""The stored copy of a manual, so that a citation's `#page=N` opens the cited page; and the
files behind the admin's file links, for staff only."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.db.models.fields.files import FieldFile
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
    return _file_response(stored, html=manual.kind == Manual.Kind.HTML)


@require_GET
@staff_member_required
def staff_file(request: HttpRequest, name: str) -> HttpResponse:
    """A manual's stored original or uploaded file (MEDIA_URL points here).

    Only files that belong to a manual are served, to staff who may view manuals.
    """
    if not request.user.has_perm("manuals.view_manual"):
        raise PermissionDenied
    manual = Manual.objects.filter(Q(stored_file=name) | Q(uploaded_file=name)).first()
    if manual is None:
        raise Http404("No manual has this file")
    original = manual.stored_file.name == name
    stored = manual.stored_file if original else manual.uploaded_file
    if not stored.storage.exists(stored.name):
        raise Http404("The file is not in storage")
    # Uploads are checked to be PDFs; a stored original is of the manual's kind.
    return _file_response(stored, html=original and manual.kind == Manual.Kind.HTML)


def _file_response(stored: FieldFile, *, html: bool) -> FileResponse:
    filename = PurePosixPath(stored.name).name.replace('"', "")
    if html:
        response = FileResponse(stored.open("rb"), content_type="text/html; charset=utf-8")
        # Vendor HTML served from our origin must not run scripts or reach our cookies.
        response["Content-Security-Policy"] = "sandbox"
    else:
        response = FileResponse(stored.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
