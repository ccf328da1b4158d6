"""Staff notes in the admin: agents write them from the console, reviewers approve them here.

Only a user with `manuals.approve_staffnote` changes a note's status; an answer quotes a note
only once it is approved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.manuals.models import StaffNote


@admin.register(StaffNote)
class StaffNoteAdmin(admin.ModelAdmin):
    list_display = (
        "excerpt",
        "product",
        "family",
        "language",
        "status",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "language", "created_at")
    list_select_related = ("product", "family", "created_by")
    search_fields = ("text", "product__name", "family__name")
    autocomplete_fields = ("product", "family", "manual")
    readonly_fields = (
        "created_by",
        "reviewed_by",
        "reviewed_at",
        "source_message_id",
        "created_at",
    )
    fields = (
        "text",
        "product",
        "family",
        "manual",
        "page",
        "language",
        "status",
        *readonly_fields,
    )
    actions = ["approve", "reject"]

    @admin.display(description="Note")
    def excerpt(self, obj: StaffNote) -> str:
        return str(obj)

    def _may_review(self, request: HttpRequest) -> bool:
        return request.user.has_perm("manuals.approve_staffnote")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        return fields if self._may_review(request) else (*fields, "status")

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not self._may_review(request):
            actions.pop("approve", None)
            actions.pop("reject", None)
        return actions

    def save_model(self, request: HttpRequest, obj: StaffNote, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        if "status" in form.changed_data:
            obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def _review(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        if not self._may_review(request):
            self.message_user(request, "You may not review staff notes.", messages.ERROR)
            return
        count = queryset.update(status=status, reviewed_by=request.user, reviewed_at=timezone.now())
        self.message_user(request, f"{count} note(s) marked {status}.", messages.SUCCESS)

    @admin.action(description="Approve: answers may quote these notes")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, StaffNote.Status.APPROVED)

    @admin.action(description="Reject")
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, StaffNote.Status.REJECTED)
