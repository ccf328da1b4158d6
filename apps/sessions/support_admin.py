"""Live support in the admin: handoffs (read-only; agents work in the console), opening hours
and closed days (staff edit them; SUPPORT_TIME_ZONE applies)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.sessions.models import ClosedDay, Handoff, OpeningHours


class ContactLeftFilter(admin.SimpleListFilter):
    """A follow-up is only actionable once the customer left an email or a phone number."""

    title = "contact details"
    parameter_name = "contact_left"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Left"), ("no", "Not left yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Handoff]) -> QuerySet[Handoff]:
        if self.value() == "yes":
            return queryset.exclude(contact="")
        if self.value() == "no":
            return queryset.filter(contact="")
        return queryset


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = (
        "requested_at",
        "status",
        "reason",
        "product",
        "language",
        "agent",
        "contact_left",
        "conversation",
    )
    list_filter = ("status", ContactLeftFilter, "reason", "language", "live", "requested_at")
    list_select_related = ("product", "agent")
    date_hierarchy = "requested_at"
    # The newest first, as the other lists: the live queue, oldest first, is the console's.
    ordering = ("-requested_at",)
    search_fields = ("contact", "note", "=session__id")
    readonly_fields = (
        "conversation",
        "status",
        "where_to_answer",
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

    @admin.display(description="Contact", ordering="contact")
    def contact_left(self, obj: Handoff) -> str:
        # Staff read "-" as a broken record; say that the customer has not left one.
        return obj.contact or "not left yet (see the conversation)"

    @admin.display(description="Conversation")
    def conversation(self, obj: Handoff) -> str:
        url = reverse("admin:chat_chatsession_change", args=[obj.session_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.session_id)[:8])

    @admin.display(description="answer it")
    def where_to_answer(self, obj: Handoff) -> str:
        """This page only shows a request; agents claim, reply to and close it in the console."""
        if not obj.is_open:
            return "Closed: nothing left to do."
        return format_html(
            '<a href="{}">Reply or close it in the live support console</a> (support agents)',
            reverse("support:console"),
        )


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
