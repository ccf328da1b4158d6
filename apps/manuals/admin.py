"""Manuals in the admin: why one failed, fetch it again, upload a PDF, read what was extracted."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.manuals import services
from apps.manuals.discovery_admin import StaffDocumentTools
from apps.manuals.fetching import sniff_kind
from apps.manuals.models import DocumentLink, Manual, ManualPage
from apps.manuals.selectors import products_using
from hscjit.admin_display import short_time
from hscjit.url_rules import catalog_url_problem

# Products linked by name on a document's page; the rest are counted.
USED_BY_SHOWN = 30


def _checked_url(url: str) -> str:
    """The importer's rule for a manual's address (hscjit.url_rules), as a form error."""
    if not url:
        return url
    problem = catalog_url_problem(url)
    if problem is not None:
        raise forms.ValidationError(f"This address {problem}.")
    return url.strip()


class ManualForm(forms.ModelForm):
    # Plain text fields: the address rule is ours (the importer's), not URLField's, so staff
    # read the same reason the import report gives.
    source_url = forms.CharField(required=False, max_length=2000)
    backup_url = forms.CharField(required=False, max_length=2000)

    class Meta:
        model = Manual
        fields = [
            "title",
            "document_kind",
            "language",
            "source_url",
            "backup_url",
            "uploaded_file",
            "kind",
        ]

    def clean_source_url(self) -> str:
        return _checked_url(self.cleaned_data.get("source_url", ""))

    def clean_backup_url(self) -> str:
        return _checked_url(self.cleaned_data.get("backup_url", ""))

    def clean_uploaded_file(self) -> Any:
        upload = self.cleaned_data.get("uploaded_file")
        if upload and "uploaded_file" in self.changed_data:
            head = upload.read(2048)
            upload.seek(0)
            if sniff_kind(head) != "pdf":
                raise forms.ValidationError("This file is not a PDF.")
        return upload


class DocumentLinkInline(admin.TabularInline):
    model = DocumentLink
    extra = 1
    fields = ["product", "family", "origin", "provenance", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["product", "family"]
    verbose_name = "product or family using this document"
    verbose_name_plural = "products and families using this document"


@admin.register(Manual)
class ManualAdmin(StaffDocumentTools, admin.ModelAdmin):
    form = ManualForm
    inlines = [DocumentLinkInline]
    list_display = [
        "__str__",
        "document_kind",
        "language",
        "kind",
        "status",
        "short_error",
        "page_count",
        "size",
        "fetched",
        "extracted",
    ]
    list_filter = ["status", "document_kind", "language", "kind"]
    search_fields = ["title", "source_url"]
    actions = ["fetch_now", "reextract"]
    readonly_fields = [
        "status",
        "error",
        "progress_shown",
        "page_count",
        "pages_link",
        "used_by",
        "size",
        "content_hash",
        "etag",
        "last_modified",
        "stored_file",
        "version",
        "fetched_at",
        "extracted_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": [
            "title", "document_kind", "language", "kind", "source_url", "backup_url",
            "uploaded_file",
        ]}),
        ("State", {"fields": ["status", "error", "progress_shown", "page_count", "pages_link"]}),
        ("Used by", {"fields": ["used_by"]}),
        ("Stored original", {"classes": ["collapse"], "fields": [
            "stored_file", "size", "content_hash", "etag", "last_modified", "version",
            "fetched_at", "extracted_at", "created_at", "updated_at",
        ]}),
    ]  # fmt: skip

    @admin.display(description="progress")
    def progress_shown(self, manual: Manual) -> str:
        return f"{round(manual.progress * 100)} %"

    @admin.display(description="fetched", ordering="fetched_at")
    def fetched(self, manual: Manual) -> str:
        return short_time(manual.fetched_at)

    @admin.display(description="extracted", ordering="extracted_at")
    def extracted(self, manual: Manual) -> str:
        return short_time(manual.extracted_at)

    @admin.display(description="error")
    def short_error(self, manual: Manual) -> str:
        return manual.error if len(manual.error) <= 80 else manual.error[:79] + "…"

    @admin.display(description="size", ordering="size_bytes")
    def size(self, manual: Manual) -> str:
        return filesizeformat(manual.size_bytes) if manual.size_bytes is not None else "-"

    @admin.display(description="extracted pages")
    def pages_link(self, manual: Manual) -> str:
        if not manual.pk or not manual.page_count:
            return "-"
        url = reverse("admin:manuals_manualpage_changelist") + f"?manual__id__exact={manual.pk}"
        return format_html('<a href="{}">Read the {} extracted pages</a>', url, manual.page_count)

    @admin.display(description="products using it")
    def used_by(self, manual: Manual) -> str:
        """Every product that answers from this document, directly or through its family."""
        products = products_using(manual=manual) if manual.pk else []
        if not products:
            return "No product uses this document yet."
        shown = products[:USED_BY_SHOWN]
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:products_product_change", args=[product.pk]), product.name)
                for product in shown
            ),
        )
        if len(products) > len(shown):
            return format_html("{} and {} more", links, len(products) - len(shown))
        return links

    def save_model(self, request: HttpRequest, obj: Manual, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if {"uploaded_file", "source_url"} & set(form.changed_data):
            services.fetch_now(manual_id=obj.pk)
            self.message_user(request, "The manual will be fetched and read again.")

    @admin.action(description="Fetch now")
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[Manual]) -> None:
        # The ids are read first: queuing changes the status a filtered list was selected by.
        ids = list(queryset.values_list("pk", flat=True))
        queued = sum(services.fetch_now(manual_id=pk) for pk in ids)
        self._report(request, queued, len(ids), "queued for fetching")

    @admin.action(description="Re-extract from the stored original")
    def reextract(self, request: HttpRequest, queryset: QuerySet[Manual]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        queued = sum(services.request_reextract(manual_id=pk) for pk in ids)
        self._report(request, queued, len(ids), "queued for re-extraction")

    def _report(self, request: HttpRequest, queued: int, asked: int, what: str) -> None:
        self.message_user(request, f"{queued} of {asked} manuals {what}.", messages.SUCCESS)
        if queued < asked:
            self.message_user(
                request,
                "The others are already being processed, have no source or stored original, "
                "or were just tried.",
                messages.WARNING,
            )


@admin.register(ManualPage)
class ManualPageAdmin(admin.ModelAdmin):
    """Read-only: pages change only by extraction, never by hand."""

    list_display = ["manual", "number", "title", "excerpt"]
    list_filter = [("manual", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "title"]
    list_select_related = ["manual"]
    fields = ["manual", "number", "title", "text"]
    readonly_fields = fields

    @admin.display(description="text")
    def excerpt(self, page: ManualPage) -> str:
        return page.text[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Staff notes (written by agents in the console, reviewed here).
from apps.manuals import notes_admin  # noqa: E402, F401
