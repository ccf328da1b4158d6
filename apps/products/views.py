from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.manuals.selectors import products_with_documents
from apps.sessions.selectors import recent_conversations


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "products": products_with_documents(),
        # Only this browser's (its session cookie's) own conversations.
        "conversations": recent_conversations(owner_key=request.session.session_key),
    }
    return render(request, "home.html", context)
