"""The catalog in the admin. Every staff edit bumps the catalog version, so each process's
prediction index picks it up within seconds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from apps.products.models import Brand, Family, Product, ProductAlias, ProductRelationship
from apps.products.services import bump_catalog_version


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
    readonly_fields = ["raw_price", "created_at", "updated_at"]
    list_per_page = 50
    inlines = [AliasInline, RelationshipInline]
    actions = ["mark_reviewed"]
    fieldsets = [
        (None, {"fields": ["catalog_id", "name", "brand", "category", "sku", "is_active"]}),
        ("Price", {"fields": ["price", "currency", "raw_price"]}),
        ("Review", {"fields": ["needs_review", "review_reason"]}),
        ("Links", {"fields": ["product_url", "image_url", "family"]}),
        ("Details", {"fields": ["description", "specs"], "classes": ["collapse"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

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
    def document_count(self, obj: Product) -> int:
        return obj.own_documents  # type: ignore[attr-defined]

    @admin.action(description="Mark selected products as reviewed")
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = queryset.update(needs_review=False, review_reason="")
        self.message_user(request, f"{count} product(s) marked as reviewed.", messages.SUCCESS)


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
