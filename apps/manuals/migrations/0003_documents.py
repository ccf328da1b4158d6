from django.db import migrations, models
import django.db.models.deletion


def link_existing_manuals(apps, schema_editor):
    """Each product's single manual becomes its first document link."""
    Product = apps.get_model("products", "Product")
    DocumentLink = apps.get_model("manuals", "DocumentLink")
    DocumentLink.objects.bulk_create(
        [
            DocumentLink(manual_id=manual_id, product_id=pk, origin="catalog")
            for pk, manual_id in Product.objects.filter(manual__isnull=False).values_list(
                "pk", "manual_id"
            )
        ],
        batch_size=500,
    )


def unlink(apps, schema_editor):
    Product = apps.get_model("products", "Product")
    DocumentLink = apps.get_model("manuals", "DocumentLink")
    for link in DocumentLink.objects.filter(product__isnull=False).order_by("pk"):
        Product.objects.filter(pk=link.product_id, manual__isnull=True).update(
            manual_id=link.manual_id
        )


class Migration(migrations.Migration):

    dependencies = [
        ("manuals", "0002_fetch_lease"),
        ("products", "0003_family"),
    ]

    operations = [
        migrations.AddField(
            model_name="manual",
            name="document_kind",
            field=models.CharField(
                choices=[
                    ("owners_manual", "Owner's manual"),
                    ("reference", "Reference manual"),
                    ("parameter_guide", "Parameter guide"),
                    ("midi_implementation", "MIDI implementation"),
                    ("quick_start", "Quick start"),
                    ("other", "Other"),
                ],
                default="owners_manual",
                max_length=24,
            ),
        ),
        migrations.AddField(
            model_name="manual",
            name="language",
            field=models.CharField(
                blank=True, default="en", help_text="ISO 639-1 code, e.g. en or he.", max_length=8
            ),
        ),
        migrations.CreateModel(
            name="DocumentLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "origin",
                    models.CharField(
                        choices=[("catalog", "Catalog import"), ("discovery", "Found on a vendor page"), ("staff", "Staff")],
                        default="staff",
                        max_length=12,
                    ),
                ),
                (
                    "provenance",
                    models.CharField(blank=True, help_text="Where the link came from (a page URL, a file).", max_length=2000),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "family",
                    models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="document_links", to="products.family"),
                ),
                (
                    "manual",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="links", to="manuals.manual"),
                ),
                (
                    "product",
                    models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="document_links", to="products.product"),
                ),
            ],
            options={
                "ordering": ["pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(models.Q(("family__isnull", True), ("product__isnull", False)), models.Q(("family__isnull", False), ("product__isnull", True)), _connector="OR"),
                        name="document_link_one_target",
                    ),
                    models.UniqueConstraint(condition=models.Q(("product__isnull", False)), fields=("manual", "product"), name="one_link_per_product_document"),
                    models.UniqueConstraint(condition=models.Q(("family__isnull", False)), fields=("manual", "family"), name="one_link_per_family_document"),
                ],
            },
        ),
        migrations.RunPython(link_existing_manuals, unlink),
    ]
