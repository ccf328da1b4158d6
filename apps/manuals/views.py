"""The stored copy of a manual, so that a citation's `#page=N` opens the cited page; and the
files behind the admin's file links, for staff only.

Anyone may read a ready document of an active product (selectors.servable_manual); every
other stored file, a failed and possibly hostile original among them, is for staff who may
view manuals, as a download. Whatever is served runs in a sandbox: no script in a vendor's
PDF or page runs with this site's origin.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from apps.manuals.models import Manual
from apps.manuals.selectors import servable_manual


@require_GET
def document(request: HttpRequest, manual_id: int) -> HttpResponse:
    manual = servable_manual(manual_id=manual_id)
    staff_only = manual is None
    if staff_only:
        # The same 404 as for an id that does not exist: ids are sequential.
        if not request.user.has_perm("manuals.view_manual"):
            raise Http404("No such document")
        manual = Manual.objects.filter(pk=manual_id).first()
        if manual is None:
            raise Http404("No such document")
    if manual.kind == Manual.Kind.HTML and manual.source_url and not staff_only:
        # An HTML manual is read where it lives; our copy is only text for retrieval.
        return HttpResponseRedirect(manual.source_url)
    stored = manual.stored_file or manual.uploaded_file
    if not stored or not stored.storage.exists(stored.name):
        raise Http404("No stored copy of this manual")
    return _file_response(stored, html=manual.kind == Manual.Kind.HTML, download=staff_only)


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
    return _file_response(stored, html=original and manual.kind == Manual.Kind.HTML, download=True)


def _file_response(stored: FieldFile, *, html: bool, download: bool) -> FileResponse:
    """Only a public PDF opens in the browser (at the cited page); HTML and staff-only files
    are downloads, never rendered as a page of this site."""
    response = FileResponse(
        stored.open("rb"),
        content_type="text/html; charset=utf-8" if html else "application/pdf",
        as_attachment=download or html,
        filename=PurePosixPath(stored.name).name,
    )
    # No scripts (a PDF's /OpenAction JavaScript), forms or access to this origin's cookies
    # and storage, whoever opens it.
    response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store" if download else "private, max-age=3600"
    return response
