from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.manuals.selectors import products_with_documents


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"products": products_with_documents()})
