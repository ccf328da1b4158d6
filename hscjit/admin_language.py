"""The admin in English, whatever language the browser asks for.

The admin's own labels (models, fields, actions, help) are written in English only; under a
Hebrew browser Django's translated chrome around them read as a mix ("בחירת product לשינוי").
The chat and the staff console, which are translated, follow the language as before.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation

ADMIN_LANGUAGE = "en"


class AdminLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(reverse("admin:index")):
            translation.activate(ADMIN_LANGUAGE)
            request.LANGUAGE_CODE = ADMIN_LANGUAGE
        return self.get_response(request)
