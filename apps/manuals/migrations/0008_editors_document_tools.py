"""Catalog editors may use the document tools the admin shows them.

The Manuals list offers "Upload PDFs" and "Attach from a CSV" (both need `add_manual`), the
discovery review queue and sources, and the products app the Hebrew brand and term aliases;
the group had none of these, so staff who are not superusers met a bare 403 on each.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Catalog editors"

# (app label, model, actions)
GRANTS = [
    ("manuals", "manual", ("add", "delete")),
    ("manuals", "discoverysource", ("view", "change")),
    ("manuals", "discoverytarget", ("view",)),
    ("manuals", "documentcandidate", ("view", "change")),
    ("products", "brandalias", ("view", "add", "change", "delete")),
    ("products", "termalias", ("view", "add", "change", "delete")),
]


def _permissions(apps):
    for label in ("manuals", "products"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(
            content_type__app_label=label,
            content_type__model=model,
            codename=f"{action}_{model}",
        )
        for label, model, actions in GRANTS
        for action in actions
    ]


def grant(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=EDITORS).first()
    if group is not None:
        group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=EDITORS).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("manuals", "0007_requeue_stuck_manuals_job"),
        ("products", "0006_hebrew_aliases"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
