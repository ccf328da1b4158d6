"""The catalog in the admin. Every staff edit bumps the catalog version, so each process's
prediction index picks it up within seconds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from apps.products.models import (
    Brand,
    BrandAlias,
    Family,
    Product,
    ProductAlias,
    ProductMerge,
    ProductRelationship,
    TermAlias,
)
from apps.products.services import (
    bump_catalog_version,
    lock_staff_edits,
    make_family,
    merge_products,
    split_merge,
)


class BumpsCatalogVersion(admin.ModelAdmin):
    """Bumps once per edit: `save_related` runs after `save_model` and the inlines, on the
    change form and on list-editable saves alike."""

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        bump_catalog_version()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        bump_catalog_version()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)
        bump_catalog_version()


@admin.register(Brand)
class BrandAdmin(BumpsCatalogVersion):
    list_display = ["name", "slug", "website", "product_count"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at", "updated_at"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Brand]:
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="products", ordering="product_count")
    def product_count(self, obj: Brand) -> int:
        return obj.product_count  # type: ignore[attr-defined]


class HasManualFilter(admin.SimpleListFilter):
    title = "documents"
    parameter_name = "has_manual"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Has a document"), ("no", "No document")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        # Its own documents or its family's (the link table belongs to the manuals app).
        linked = Q(document_links__isnull=False) | Q(family__document_links__isnull=False)
        if self.value() == "yes":
            return queryset.filter(linked).distinct()
        if self.value() == "no":
            return queryset.exclude(pk__in=queryset.filter(linked).values("pk"))
        return None


class AliasInline(admin.TabularInline):
    model = ProductAlias
    extra = 1
    fields = ["alias"]


class RelationshipInline(admin.TabularInline):
    model = ProductRelationship
    fk_name = "source"
    extra = 0
    fields = ["kind", "target", "label"]
    autocomplete_fields = ["target"]
    verbose_name = "related product"
    verbose_name_plural = "related products (accessories, related, spare parts)"


@admin.register(Product)
class ProductAdmin(BumpsCatalogVersion):
    list_display = [
        "name",
        "brand",
        "category",
        "sku",
        "price_display",
        "family",
        "document_count",
        "needs_review",
        "is_active",
    ]
    list_filter = ["brand", "category", "needs_review", HasManualFilter, "is_active"]
    list_select_related = ["brand", "family"]
    search_fields = ["name", "sku", "catalog_id", "aliases__alias"]
    autocomplete_fields = ["brand", "family"]
    readonly_fields = [
        "raw_price",
        "merged_into",
        "documents",
        "locked",
        "created_at",
        "updated_at",
    ]
    list_per_page = 50
    inlines = [AliasInline, RelationshipInline]
    actions = ["mark_reviewed", "merge_selected", "make_family_of_selected", "unlock_fields"]
    fieldsets = [
        (None, {"fields": ["catalog_id", "name", "brand", "category", "sku", "is_active"]}),
        ("Price", {"fields": ["price", "currency", "raw_price"]}),
        ("Review", {"fields": ["needs_review", "review_reason"]}),
        ("Links", {"fields": ["product_url", "image_url", "family", "documents"]}),
        ("Details", {"fields": ["description", "specs"], "classes": ["collapse"]}),
        (
            "Identity",
            {
                "fields": ["merged_into", "locked"],
                "description": "Fields listed as locked were edited here: catalog imports "
                "leave them as they are (the list's action 'Let imports update the fields "
                "staff edited' unlocks them).",
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="locked fields")
    def locked(self, obj: Product) -> str:
        """The fields by the labels the form gives them ("SKU", "Product URL")."""
        labels = []
        for name in obj.locked_fields:
            try:
                labels.append(capfirst(Product._meta.get_field(name).verbose_name))
            except FieldDoesNotExist:
                labels.append(name)
        return ", ".join(labels) or "none: imports update every field"

    @admin.display(description="price", ordering="price")
    def price_display(self, obj: Product) -> str:
        if obj.price is not None:
            return f"{obj.price:,.2f} {obj.currency}"
        if obj.raw_price:
            # format_html escapes the raw value: it comes straight from a scraped file.
            return format_html("— <small>(catalog said {})</small>", obj.raw_price)
        return "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return (
            super()
            .get_queryset(request)
            .annotate(own_documents=Count("document_links", distinct=True))
        )

    @admin.display(description="own documents", ordering="own_documents")
    @admin.display(description="documents")
    def documents(self, obj: Product) -> str:
        """Its own documents and its family's, each with its status, linking to its page, and
        a link that uploads another for this product."""
        links = list(obj.document_links.select_related("manual"))
        if obj.family_id is not None:
            links += list(obj.family.document_links.select_related("manual"))
        upload = format_html(
            '<a href="{}?{}">Upload PDFs for this product</a>',
            reverse("admin:manuals_manual_upload"),
            urlencode({"product": obj.catalog_id}),
        )
        if not links:
            return format_html("none · {}", upload)
        listed = format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> ({}, {}{})',
            (
                (
                    reverse("admin:manuals_manual_change", args=[link.manual_id]),
                    str(link.manual),
                    link.manual.get_document_kind_display(),
                    link.manual.get_status_display(),
                    ", through its family" if link.family_id else "",
                )
                for link in links
            ),
        )
        return format_html("{}<br>{}", listed, upload)

    def document_count(self, obj: Product) -> int:
        return obj.own_documents  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Product, form: ModelForm, change: bool) -> None:
        if change:
            lock_staff_edits(product=obj, fields=form.changed_data)
        super().save_model(request, obj, form, change)

    @admin.action(description="Mark selected products as reviewed")
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = 0
        for product in queryset:
            product.needs_review, product.review_reason = False, ""
            # Reviewed stays reviewed: the next import does not flag it again.
            lock_staff_edits(product=product, fields=["needs_review", "review_reason"])
            product.save(update_fields=["needs_review", "review_reason", "locked_fields"])
            count += 1
        bump_catalog_version()
        self.message_user(request, f"{count} product(s) marked as reviewed.", messages.SUCCESS)

    @admin.action(description="Merge selected listings into one product")
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        try:
            kept, merges = merge_products(products=list(queryset), by=request.user.get_username())
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request,
            f"{len(merges)} listing(s) merged into {kept.name} ({kept.catalog_id}); "
            "split them back under Product merges.",
            messages.SUCCESS,
        )

    @admin.action(description="Make a family of the selected products")
    def make_family_of_selected(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        try:
            family = make_family(products=list(queryset.select_related("brand")))
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request, f"Family {family.name} made of {queryset.count()} products.", messages.SUCCESS
        )

    @admin.action(description="Let imports update the fields staff edited")
    def unlock_fields(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = queryset.exclude(locked_fields=[]).update(locked_fields=[])
        self.message_user(request, f"{count} product(s) unlocked.", messages.SUCCESS)


@admin.register(ProductMerge)
class ProductMergeAdmin(admin.ModelAdmin):
    """Every merge, from the import or from staff; a split keeps the row, so later imports
    do not merge the two listings again."""

    list_display = ["merged", "kept", "status", "origin", "reason", "decided_at"]
    list_filter = ["status", "origin"]
    list_select_related = ["kept", "merged"]
    search_fields = ["kept__name", "kept__catalog_id", "merged__name", "merged__catalog_id"]
    readonly_fields = [
        "kept",
        "merged",
        "status",
        "origin",
        "reason",
        "sources",
        "decided_at",
        "split_at",
        "split_by",
    ]
    actions = ["split_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Split: make the merged listings products of their own again")
    def split_selected(self, request: HttpRequest, queryset: QuerySet[ProductMerge]) -> None:
        by = request.user.get_username()
        merges = list(queryset.filter(status=ProductMerge.Status.MERGED))
        for merge in merges:
            split_merge(merge=merge, by=by)
        self.message_user(request, f"{len(merges)} merge(s) split.", messages.SUCCESS)


@admin.register(ProductAlias)
class ProductAliasAdmin(BumpsCatalogVersion):
    list_display = ["alias", "product"]
    list_select_related = ["product"]
    search_fields = ["alias", "product__name", "product__catalog_id"]
    autocomplete_fields = ["product"]


@admin.register(ProductRelationship)
class ProductRelationshipAdmin(BumpsCatalogVersion):
    list_display = ["source", "kind", "target", "label"]
    list_filter = ["kind"]
    list_select_related = ["source", "target"]
    search_fields = ["source__name", "target__name", "label"]
    autocomplete_fields = ["source", "target"]


class FamilyMemberInline(admin.TabularInline):
    model = Product
    fk_name = "family"
    extra = 0
    fields = ["name", "catalog_id", "sku", "is_active"]
    readonly_fields = ["name", "catalog_id", "sku", "is_active"]
    can_delete = False
    show_change_link = True
    verbose_name = "variant"
    # Move a variant to another family from its own page: the move is then the staff's,
    # and imports keep it.

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Family)
class FamilyAdmin(BumpsCatalogVersion):
    list_display = ["name", "brand", "variant_count"]
    list_select_related = ["brand"]
    search_fields = ["name", "slug", "products__name"]
    autocomplete_fields = ["brand"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [FamilyMemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Family]:
        return super().get_queryset(request).annotate(variant_count=Count("products"))

    @admin.display(description="variants", ordering="variant_count")
    def variant_count(self, obj: Family) -> int:
        return obj.variant_count  # type: ignore[attr-defined]


@admin.register(BrandAlias)
class BrandAliasAdmin(BumpsCatalogVersion):
    """Hebrew and other spellings of brand names (seeded by `manage.py seed_hebrew_aliases`)."""

    list_display = ["alias", "means", "brand"]
    list_filter = ["brand"]
    search_fields = ["alias", "means", "brand__name"]
    autocomplete_fields = ["brand"]


@admin.register(TermAlias)
class TermAliasAdmin(BumpsCatalogVersion):
    """Hebrew model names and product words, read by prediction as the catalog's words."""

    list_display = ["alias", "means", "kind"]
    list_filter = ["kind"]
    search_fields = ["alias", "means"]
