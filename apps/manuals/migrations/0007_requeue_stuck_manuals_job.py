"""The periodic job that queues again manuals whose task is gone, as a django_celery_beat row
staff can edit in the admin (created once, like chat 0002's jobs)."""

from __future__ import annotations

import json

from django.db import migrations
from django.utils import timezone

NAME = "requeue_stuck_manuals"


def create_job(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every_minute, _ = CrontabSchedule.objects.get_or_create(
        minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "apps.manuals.tasks.requeue_stuck_manuals",
            "crontab": every_minute,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "enabled": True,
            "description": (
                "Every minute: queue again manuals left queued, fetching or extracting by a "
                "task that is gone (a killed worker, a Redis restart), once their lease ran out."
            ),
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_job(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("manuals", "0006_manualindexdata"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_job, delete_job)]
