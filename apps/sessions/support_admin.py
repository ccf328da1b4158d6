"""Live support in the admin: handoffs (read-only; agents work in the console), opening hours
and closed days (staff edit them; SUPPORT_TIME_ZONE applies)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.sessions.models import ClosedDay, Handoff, OpeningHours


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = (
        "requested_at",
        "status",
        "reason",
        "product",
        "language",
        "agent",
        "contact",
        "conversation",
    )
    list_filter = ("status", "reason", "language", "live", "requested_at")
    list_select_related = ("product", "agent")
    date_hierarchy = "requested_at"
    search_fields = ("contact", "note", "=session__id")
    readonly_fields = (
        "conversation",
        "status",
        "reason",
        "live",
        "product",
        "language",
        "agent",
        "contact",
        "contact_kind",
        "note",
        "requested_at",
        "claimed_at",
        "first_reply_at",
        "closed_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Conversation")
    def conversation(self, obj: Handoff) -> str:
        url = reverse("admin:chat_chatsession_change", args=[obj.session_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.session_id)[:8])


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ("weekday", "opens", "closes")
    list_editable = ("opens", "closes")
    list_display_links = ("weekday",)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {"title": f"Opening hours ({settings.SUPPORT_TIME_ZONE})", **(extra_context or {})}
        return super().changelist_view(request, extra)


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    list_display = ("date", "note")
    date_hierarchy = "date"
