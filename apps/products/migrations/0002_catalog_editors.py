"""The `Catalog editors` group: what staff who are not superusers need, and nothing more.

Permissions are normally created after all migrations run; a fresh database has none yet, so
this migration creates them for the apps it names before granting them.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Catalog editors"

# (app label, model, actions)
GRANTS = [
    ("products", "brand", ("view", "add", "change", "delete")),
    ("products", "product", ("view", "add", "change", "delete")),
    ("products", "productalias", ("view", "add", "change", "delete")),
    ("products", "productrelationship", ("view", "add", "change", "delete")),
    ("manuals", "manual", ("view", "change")),
    ("manuals", "manualpage", ("view",)),
    ("chat", "chatsession", ("view",)),
    ("chat", "message", ("view",)),
    ("chat", "feedback", ("view",)),
    ("django_celery_beat", "periodictask", ("view", "change")),
]


def create_group(apps, schema_editor):
    for label in sorted({label for label, _, _ in GRANTS}):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    wanted = []
    for label, model, actions in GRANTS:
        for action in actions:
            wanted.append(
                Permission.objects.get(
                    content_type__app_label=label,
                    content_type__model=model,
                    codename=f"{action}_{model}",
                )
            )
    group.permissions.set(wanted)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0001_initial"),
        ("manuals", "0001_initial"),
        ("chat", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
