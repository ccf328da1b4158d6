"""The staff console page; everything live happens over its socket."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
@login_required(login_url="admin:login")
def console_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("chat.answer_customers"):
        # A staff member without the permission is told what it takes, not a bare 403.
        context = {**admin.site.each_context(request), "title": "Live support console"}
        return render(request, "console/not_an_agent.html", context, status=403)
    response = render(request, "console/page.html", {"ws_path": "/ws/support/"})
    response["Cache-Control"] = "no-store"
    return response
