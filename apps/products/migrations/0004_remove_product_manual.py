from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("products", "0003_family"),
        ("manuals", "0003_documents"),
    ]

    operations = [
        migrations.RemoveField(model_name="product", name="manual"),
    ]
