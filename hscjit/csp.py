"""Content-Security-Policy for every page, through django-csp.

The customer pages get the strict policy of settings.CONTENT_SECURITY_POLICY: scripts only
from our static files or with this response's nonce, no inline style, nothing framed. Django's
admin still writes `style="..."` attributes in a few templates, so its pages get the same
policy with inline style allowed (inline script stays refused). The chat socket is named in
connect-src for browsers whose 'self' does not cover ws:/wss: yet.
"""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse


class SitePolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if parts.config is not None or parts.replace is not None:
            return parts  # a view chose its own policy
        update = dict(parts.update or {})
        socket = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
        update["connect-src"] = [*update.get("connect-src", []), socket]
        if request.path_info.startswith(reverse("admin:index")):
            parts.replace = {"style-src": [SELF, UNSAFE_INLINE]}
        parts.update = update
        # An embedded chat names the shop origins that may frame it (apps/sessions/embed.py).
        ancestors = getattr(request, "frame_ancestors", None)
        if ancestors:
            parts.replace = {**(parts.replace or {}), "frame-ancestors": list(ancestors)}
        return parts
