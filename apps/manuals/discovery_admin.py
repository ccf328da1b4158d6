"""Discovery and the staff document tools in the admin.

Sources (vendor pages read for documents) and per-product results with their reasons; the
review queue of unsure links with accept and reject; and, on the documents list, bulk
attach from a CSV, several PDFs uploaded at once, and the products customers ask about most
that still have no ready document.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from apps.manuals.models import DiscoverySource, DiscoveryTarget, DocumentCandidate, Manual
from apps.manuals.selectors import documents_of, most_asked_without_ready_document
from apps.manuals.services.discovery import (
    accept_candidate,
    reject_candidate,
    request_discovery,
)
from apps.manuals.services.staff_documents import (
    COLUMNS,
    BulkOutcome,
    CsvError,
    attach_from_csv,
    attach_uploads,
)
from apps.products.models import Family, Product


class DiscoveryTargetInline(admin.TabularInline):
    model = DiscoveryTarget
    extra = 0
    fields = ["product", "state", "reason", "documents_found", "checked_at", "provenance"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DiscoverySource)
class DiscoverySourceAdmin(admin.ModelAdmin):
    list_display = ["url", "status", "products", "links_found", "pages_read", "last_run_at"]
    list_filter = ["status"]
    search_fields = ["url"]
    readonly_fields = [
        "status", "error", "links_found", "pages_read", "last_run_at", "created_at", "updated_at",
    ]  # fmt: skip
    inlines = [DiscoveryTargetInline]
    actions = ["read_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DiscoverySource]:
        return super().get_queryset(request).annotate(product_count=Count("targets"))

    @admin.display(description="products", ordering="product_count")
    def products(self, source: DiscoverySource) -> int:
        return source.product_count  # type: ignore[attr-defined]

    @admin.action(description="Look for documents on these pages now")
    def read_now(self, request: HttpRequest, queryset: QuerySet[DiscoverySource]) -> None:
        queued = sum(
            request_discovery(source_id=pk, force=True)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{queued} of {queryset.count()} pages queued.")


@admin.register(DiscoveryTarget)
class DiscoveryTargetAdmin(admin.ModelAdmin):
    """Why a product has no document: what discovery found on its vendor page."""

    list_display = ["product", "state", "reason", "documents_found", "checked_at", "source"]
    list_filter = ["state"]
    search_fields = ["product__name", "product__catalog_id", "source__url"]
    list_select_related = ["product", "source"]
    autocomplete_fields = ["product"]
    readonly_fields = ["state", "reason", "documents_found", "checked_at", "created_at"]


@admin.register(DocumentCandidate)
class DocumentCandidateAdmin(admin.ModelAdmin):
    """Links discovery was not sure of; accepting one attaches it to the product."""

    list_display = [
        "product", "link", "document_kind", "language", "score", "why", "state", "decided_by",
    ]  # fmt: skip
    list_filter = ["state", "document_kind", "language"]
    search_fields = ["product__name", "product__catalog_id", "url", "link_text"]
    list_select_related = ["product"]
    readonly_fields = [
        "product", "source", "url", "page_url", "link_text", "score", "reasons", "state",
        "manual", "decided_by", "decided_at", "created_at",
    ]  # fmt: skip
    fields = ["document_kind", "language", *readonly_fields]
    actions = ["accept", "reject"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # The queue opens on what waits for a decision.
        if not request.GET and request.method == "GET":
            request.GET = request.GET.copy()
            request.GET["state__exact"] = DocumentCandidate.State.PENDING
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="link")
    def link(self, candidate: DocumentCandidate) -> str:
        return format_html(
            '<a href="{}" rel="noreferrer noopener" target="_blank">{}</a>',
            candidate.url,
            candidate.link_text or candidate.url,
        )

    @admin.display(description="why")
    def why(self, candidate: DocumentCandidate) -> str:
        return "; ".join(candidate.reasons)

    @admin.action(description="Accept: attach to the product")
    def accept(self, request: HttpRequest, queryset: QuerySet[DocumentCandidate]) -> None:
        pending = queryset.filter(state=DocumentCandidate.State.PENDING).select_related("product")
        done = 0
        for candidate in pending:
            accept_candidate(candidate=candidate, user=request.user.get_username())
            done += 1
        self.message_user(request, f"{done} documents attached.", messages.SUCCESS)

    @admin.action(description="Reject: never attach to this product")
    def reject(self, request: HttpRequest, queryset: QuerySet[DocumentCandidate]) -> None:
        pending = queryset.filter(state=DocumentCandidate.State.PENDING)
        done = 0
        for candidate in pending:
            reject_candidate(candidate=candidate, user=request.user.get_username())
            done += 1
        self.message_user(request, f"{done} links rejected.")


# --- Staff tools on the documents list -------------------------------------------------------


class CsvForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "First row: product, family, url, kind, language. Each row names a product "
            "(catalog id) or a family (slug); kind is owners_manual, reference, "
            "parameter_guide, midi_implementation, quick_start or other; language a code "
            "such as en or he."
        ),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            raise ValidationError("Choose one or more PDF files.")
        return files


class UploadForm(forms.Form):
    product = forms.CharField(
        required=False, help_text="The product's catalog id (mutable-beads) or its exact name."
    )
    family = forms.CharField(required=False, help_text="Or the slug of the family.")
    kind = forms.ChoiceField(
        choices=[("", "Tell from each file's name"), *Manual.DocumentKind.choices],
        required=False,
        help_text="A file named like “n32b-midi-implementation.pdf” is a MIDI implementation; "
        "one whose name says no kind is an owner's manual.",
    )
    language = forms.CharField(max_length=8, initial="en", help_text="en, he, de...")
    files = MultipleFileField(label="PDF files")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        product_id, slug = data.get("product", "").strip(), data.get("family", "").strip()
        if bool(product_id) == bool(slug):
            raise ValidationError("Give the catalog id of a product or the slug of a family.")
        data["product"] = data["family"] = None
        if product_id:
            data["product"] = self._product(product_id)
        else:
            data["family"] = Family.objects.filter(slug=slug).first()
            if data["family"] is None:
                self.add_error("family", f"No family has the slug {slug!r}.")
        return data

    def _product(self, given: str) -> Product | None:
        """The product of that catalog id, else the one product of that name."""
        found = Product.objects.filter(catalog_id=given).first()
        if found is not None:
            return found
        named = list(Product.objects.filter(name__iexact=given).order_by("catalog_id")[:5])
        if len(named) == 1:
            return named[0]
        if named:
            ids = ", ".join(product.catalog_id for product in named)
            self.add_error("product", f"Several products are named {given!r}: {ids}. Give one id.")
        else:
            self.add_error("product", f"No product has the catalog id or name {given!r}.")
        return None


class StaffDocumentTools(admin.ModelAdmin):
    """Views on the documents list: bulk attach, several uploads, the most-asked without one."""

    def get_urls(self) -> list[URLPattern]:
        views = [
            path("bulk-attach/", self.admin_site.admin_view(self.bulk_attach_view),
                 name="manuals_manual_bulk_attach"),
            path("upload/", self.admin_site.admin_view(self.upload_view),
                 name="manuals_manual_upload"),
            path("most-asked/", self.admin_site.admin_view(self.most_asked_view),
                 name="manuals_manual_most_asked"),
        ]  # fmt: skip
        return views + super().get_urls()

    def _page(self, request: HttpRequest, template: str, **context: Any) -> HttpResponse:
        return render(
            request,
            f"admin/manuals/manual/{template}",
            {**self.admin_site.each_context(request), "opts": self.model._meta, **context},
        )

    def bulk_attach_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CsvForm(request.POST or None, request.FILES or None)
        outcome: BulkOutcome | None = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                outcome = attach_from_csv(
                    data=upload.read(), filename=upload.name, user=request.user.get_username()
                )
            except CsvError as error:
                form.add_error("file", str(error))
        return self._page(
            request, "bulk_attach.html", title="Attach documents from a CSV", form=form,
            outcome=outcome, columns=COLUMNS,
        )  # fmt: skip

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {k: request.GET.get(k, "") for k in ("product", "family")}
        form = UploadForm(request.POST or None, request.FILES or None, initial=initial)
        outcome: BulkOutcome | None = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            outcome = attach_uploads(
                files=data["files"],
                product=data["product"],
                family=data["family"],
                kind=data["kind"],
                language=data["language"].strip().lower() or "en",
                user=request.user.get_username(),
            )
            if outcome.manual_ids:
                return self._uploaded(request, outcome)
        return self._page(request, "upload.html", title="Upload PDFs", form=form, outcome=outcome)

    def _uploaded(self, request: HttpRequest, outcome: BulkOutcome) -> HttpResponse:
        """Say what was uploaded and refused, and show the new documents' statuses: a
        redirect, so that reloading the page does not upload the files twice."""
        count = len(outcome.attached)
        self.message_user(
            request,
            f"{count} PDF{'s' if count != 1 else ''} uploaded and queued for reading: "
            + "; ".join(outcome.attached),
            messages.SUCCESS,
        )
        for problem in outcome.problems:
            self.message_user(request, f"{problem.text} refused: {problem.reason}", messages.ERROR)
        ids = ",".join(map(str, outcome.manual_ids))
        return redirect(f"{reverse('admin:manuals_manual_changelist')}?id__in={ids}")

    def most_asked_view(self, request: HttpRequest) -> HttpResponse:
        rows = []
        for product in most_asked_without_ready_document():
            documents = documents_of(product=product)
            targets = list(product.discovery_targets.all())
            rows.append(
                {
                    "product": product,
                    "change_url": reverse("admin:products_product_change", args=[product.pk]),
                    "upload_url": reverse("admin:manuals_manual_upload")
                    + f"?product={product.catalog_id}",
                    "documents": ", ".join(f"{m} ({m.get_status_display()})" for m in documents)
                    or "none",
                    "why": "; ".join(t.reason for t in targets if t.reason)
                    or "; ".join(m.error for m in documents if m.error),
                }
            )
        return self._page(
            request,
            "most_asked.html",
            title="Most-asked products without a ready document",
            rows=rows,
        )
