"""The `Support agents` group, the default opening hours, and who may approve staff notes.

Permissions are normally created after all migrations run; a fresh database has none yet, so
this migration creates them for the apps it names before granting them (as the Catalog editors
migration does). Hours are created once: staff edit them in the admin afterwards.
"""

import datetime

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Support agents"
EDITORS = "Catalog editors"

# (app label, model, codenames)
GRANTS = [
    ("chat", "handoff", ("answer_customers", "view_handoff")),
    ("chat", "chatsession", ("view_chatsession",)),
    ("chat", "message", ("view_message",)),
    ("chat", "feedback", ("view_feedback",)),
    (
        "chat",
        "openinghours",
        ("view_openinghours", "change_openinghours", "add_openinghours", "delete_openinghours"),
    ),
    (
        "chat",
        "closedday",
        ("view_closedday", "change_closedday", "add_closedday", "delete_closedday"),
    ),
    ("manuals", "staffnote", ("view_staffnote", "add_staffnote", "change_staffnote")),
    ("manuals", "manual", ("view_manual",)),
    ("products", "product", ("view_product",)),
]
# Content staff review what agents wrote before answers quote it.
EDITOR_GRANTS = [
    ("manuals", "staffnote", ("view_staffnote", "change_staffnote", "approve_staffnote")),
    ("chat", "handoff", ("view_handoff",)),
]
# Sunday to Thursday 9:00-18:00, Friday 9:00-13:00 (weekday 0 is Monday).
HOURS = [(day, datetime.time(9), datetime.time(18)) for day in (6, 0, 1, 2, 3)] + [
    (4, datetime.time(9), datetime.time(13))
]


def _permissions(apps, grants):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(
            content_type__app_label=label, content_type__model=model, codename=codename
        )
        for label, model, codenames in grants
        for codename in codenames
    ]


def forwards(apps, schema_editor):
    for label in ("chat", "manuals", "products"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    agents, _ = Group.objects.get_or_create(name=GROUP)
    agents.permissions.add(*_permissions(apps, GRANTS))
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.add(*_permissions(apps, EDITOR_GRANTS))
    OpeningHours = apps.get_model("chat", "OpeningHours")
    if not OpeningHours.objects.exists():
        OpeningHours.objects.bulk_create(
            OpeningHours(weekday=day, opens=opens, closes=closes) for day, opens, closes in HOURS
        )


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_live_support"),
        ("manuals", "0005_staff_notes"),
        ("products", "0002_catalog_editors"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
