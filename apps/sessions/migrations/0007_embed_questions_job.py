"""The hourly job that embeds new unanswered questions for the content-gaps clusters, as a
celery-beat row staff can edit (created once, like the jobs of 0002)."""

from __future__ import annotations

import json

from django.db import migrations
from django.utils import timezone

NAME = "embed_unanswered_questions"


def create_job(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "apps.sessions.tasks.embed_unanswered_questions",
            "crontab": crontab,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "enabled": True,
            "description": "Hourly at :15: embed new unanswered questions for Content gaps.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_job(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0006_dashboard_indexes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_job, delete_job)]
