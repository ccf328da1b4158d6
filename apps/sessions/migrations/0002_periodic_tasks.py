"""The periodic jobs, as rows of django_celery_beat that staff edit in the admin.

Created once: a later edit in the admin (another time, disabled) is kept across deploys,
because this migration does not run again.
"""

from __future__ import annotations

import json

from django.db import migrations
from django.utils import timezone

# (task row name, Celery task, crontab fields, description). Times are UTC.
JOBS = [
    (
        "cleanup_old_sessions",
        "apps.sessions.tasks.cleanup_old_sessions",
        {"minute": "0", "hour": "3", "day_of_week": "*"},
        "Daily at 03:00: delete chat sessions idle longer than CHAT_SESSION_RETENTION_DAYS.",
    ),
    (
        "regenerate_product_cache",
        "apps.products.tasks.regenerate_product_cache",
        {"minute": "0", "hour": "*", "day_of_week": "*"},
        "Hourly: rebuild the prediction index everywhere and warm the most asked-about cards.",
    ),
    (
        "refresh_manuals",
        "apps.manuals.tasks.refresh_manuals",
        {"minute": "30", "hour": "4", "day_of_week": "0"},
        "Weekly, Sunday 04:30: re-fetch ready manuals whose source changed.",
    ),
]


def create_jobs(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, cron, description in JOBS:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            **cron, day_of_month="*", month_of_year="*", timezone="UTC"
        )
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "crontab": crontab,
                "args": json.dumps([]),
                "kwargs": json.dumps({}),
                "enabled": True,
                "description": description,
            },
        )
    # Historical models skip PeriodicTask.save(), which tells a running beat to reload.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_jobs(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in JOBS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_jobs, delete_jobs)]
