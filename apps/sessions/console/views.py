"""The staff console page; everything live happens over its socket."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
@login_required(login_url="admin:login")
@permission_required("chat.answer_customers", raise_exception=True)
def console_page(request: HttpRequest) -> HttpResponse:
    response = render(request, "console/page.html", {"ws_path": "/ws/support/"})
    response["Cache-Control"] = "no-store"
    return response
