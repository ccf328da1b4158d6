"""The chat embedded in a shop's own pages (static/embed/embed.js): which sites may frame it,
their cookies inside the frame, and the origins their pages may open the socket from."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.sessions.models import ChatSession, Site

# How long a process keeps the set of site origins before reading it again (admin edits
# reach every process within this).
ORIGINS_TTL_SECONDS = 30.0
_origins: tuple[float, frozenset[str]] = (0.0, frozenset())
_origins_lock = threading.Lock()


def site_origins() -> frozenset[str]:
    """Every active site's allowed origins (one query at most every ORIGINS_TTL_SECONDS)."""
    global _origins
    read_at, found = _origins
    if time.monotonic() - read_at < ORIGINS_TTL_SECONDS:
        return found
    with _origins_lock:
        fresh = frozenset(
            origin for site in Site.objects.filter(is_active=True) for origin in site.origins()
        )
        _origins = (time.monotonic(), fresh)
    return fresh


def forget_site_origins() -> None:
    """Read the origins again on next use (after an admin edit, in tests)."""
    global _origins
    _origins = (0.0, frozenset())


def mark_embedded(request: HttpRequest, session: ChatSession | None, site: Site | None) -> None:
    """This response belongs to an embedded chat: its site's origins may frame it, and its
    cookies must reach the frame (EmbedCookieMiddleware)."""
    site = site or (session.site if session is not None else None)
    if site is None or not site.is_active:
        return
    request.frame_ancestors = site.origins()  # type: ignore[attr-defined]
    request.embedded = True  # type: ignore[attr-defined]


class EmbedCookieMiddleware:
    """Inside another site's frame a browser sends only SameSite=None cookies, and only Secure
    ones: an embedded chat's session and CSRF cookies are sent that way (behind HTTPS; over
    plain HTTP browsers refuse SameSite=None, and the first-party fallback takes over).

    It sits before SessionMiddleware, so it sees the cookies the inner middlewares set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "embedded", False):
            # Framed by its site's origins only (CSP frame-ancestors), not refused outright.
            if response.has_header("X-Frame-Options"):
                del response["X-Frame-Options"]
            if request.is_secure():
                for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                    if name in response.cookies:
                        response.cookies[name]["samesite"] = "None"
                        response.cookies[name]["secure"] = True
        return response
