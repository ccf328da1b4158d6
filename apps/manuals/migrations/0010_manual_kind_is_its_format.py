"""A manual's file type (PDF or HTML) is labelled "format": "kind" is its document kind."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("manuals", "0009_stored_index_format_3"),
    ]

    operations = [
        migrations.AlterField(
            model_name="manual",
            name="kind",
            field=models.CharField(
                choices=[("pdf", "PDF"), ("html", "HTML")],
                default="pdf",
                max_length=8,
                verbose_name="format",
            ),
        ),
    ]
