from __future__ import annotations

from django.db import models

from apps.products.prices import validate_price


class Brand(models.Model):
    slug = models.SlugField(max_length=120, unique=True, help_text="Catalog brand id.")
    name = models.CharField(max_length=200)
    website = models.URLField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Family(models.Model):
    """Variants that the vendor documents as one model (colours, bundles, suffixes).

    Documents attached to a family serve every product in it.
    """

    slug = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=300)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="families")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["brand__name", "name"]
        verbose_name_plural = "families"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    catalog_id = models.SlugField(
        max_length=200, unique=True, help_text="Stable catalog id, used by clients and imports."
    )
    name = models.CharField(max_length=300)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="products")
    category = models.CharField(max_length=120, blank=True, db_index=True)
    sku = models.CharField("SKU", max_length=120, blank=True, db_index=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[validate_price],
        help_text="Shown to customers. Empty when unknown or implausible.",
    )
    currency = models.CharField(max_length=3, blank=True, default="ILS")
    raw_price = models.CharField(
        max_length=64, blank=True, help_text="The price exactly as the catalog file gave it."
    )
    product_url = models.URLField(max_length=1000, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    specs = models.JSONField(default=dict, blank=True)
    family = models.ForeignKey(
        Family,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
        help_text="Variants in one family share its documents.",
    )
    is_active = models.BooleanField(default=True, db_index=True)
    needs_review = models.BooleanField(default=False, db_index=True)
    review_reason = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_from",
        help_text="Set when this listing was merged into another product; its catalog id "
        "then resolves to that product.",
    )
    locked_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Fields staff edited in the admin: catalog imports leave them as they are.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["brand__name", "name"]

    def __str__(self) -> str:
        return self.name

    def lock(self, names: list[str]) -> list[str]:
        """Remember that staff set these fields; returns the new list (not saved)."""
        self.locked_fields = sorted({*self.locked_fields, *names})
        return self.locked_fields


class ProductMerge(models.Model):
    """One listing merged into another product: what was decided, from which records, why.

    A merge staff split keeps its row (status `split`), so a later import does not merge the
    two listings again.
    """

    class Status(models.TextChoices):
        MERGED = "merged", "Merged"
        SPLIT = "split", "Split by staff"

    class Origin(models.TextChoices):
        IMPORT = "import", "Catalog import"
        STAFF = "staff", "Staff"

    kept = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="merges_kept")
    merged = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="merges_away")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.MERGED)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.IMPORT)
    reason = models.TextField(help_text="Why the two listings were judged one product.")
    sources = models.JSONField(
        default=list, blank=True, help_text="The catalog records behind the merge."
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    split_at = models.DateTimeField(null=True, blank=True)
    split_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-decided_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["kept", "merged"], name="one_merge_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(kept=models.F("merged")), name="merge_not_into_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merged.catalog_id} → {self.kept.catalog_id} ({self.get_status_display()})"


class ProductAlias(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200, help_text="Another name customers use.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "product aliases"
        constraints = [
            models.UniqueConstraint(fields=["product", "alias"], name="unique_alias_per_product")
        ]

    def __str__(self) -> str:
        return self.alias


class ProductRelationship(models.Model):
    class Kind(models.TextChoices):
        ACCESSORY = "accessory", "Accessory"
        RELATED = "related", "Related"
        SPARE_PART = "spare_part", "Spare part"

    source = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="relationships")
    target = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "kind"], name="unique_relationship"
            ),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="relationship_not_to_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} → {self.target} ({self.get_kind_display()})"


class CatalogStamp(models.Model):
    """One row whose version goes up whenever the catalog changes.

    Every process compares it with the version its prediction index was built from.
    """

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"catalog v{self.version}"


class BrandAlias(models.Model):
    """A name customers write a brand with: in Hebrew letters (רולנד), or spelled otherwise.

    Prediction reads the alias as the Latin words in `means` (the brand's distinctive words,
    "paiste" for Paiste Cymbals), so "מקלדת נורד" finds Nord's keyboards.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=120)
    means = models.CharField(
        max_length=120, help_text="The brand's words in the catalog's names, e.g. 'allen heath'."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["brand__name", "alias"]
        verbose_name_plural = "brand aliases"
        constraints = [
            models.UniqueConstraint(fields=["brand", "alias"], name="unique_alias_per_brand")
        ]

    def __str__(self) -> str:
        return f"{self.alias} → {self.brand}"


class TermAlias(models.Model):
    """A word customers use for a model name or a kind of product, in the catalog's words:
    קטאנה -> katana, מגבר -> amp, אוזניות -> headphone."""

    class Kind(models.TextChoices):
        MODEL = "model", "Model name"
        WORD = "word", "Other word of the names"
        CATEGORY = "category", "Kind of product"

    alias = models.CharField(max_length=120, unique=True)
    means = models.CharField(max_length=120, help_text="The words the catalog's names use.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "alias"]
        verbose_name_plural = "term aliases"

    def __str__(self) -> str:
        return f"{self.alias} → {self.means}"
