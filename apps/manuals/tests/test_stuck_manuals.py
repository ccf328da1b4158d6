"""Nothing stays stuck: manuals whose task is gone are queued again (issue 14, item 3)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.manuals import services, tasks
from apps.manuals.models import Manual
from apps.manuals.tests.conftest import make_pdf

pytestmark = pytest.mark.django_db


def _stuck(status: str, url: str, *, expired: bool = True) -> Manual:
    until = timezone.now() + timedelta(seconds=-5 if expired else 300)
    return Manual.objects.create(
        source_url=url, status=status, lease_token="dead-worker", lease_until=until
    )


def test_manuals_whose_task_is_gone_are_queued_again_and_held_ones_are_not(monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(
        "apps.manuals.services.queueing.enqueue", lambda task, manual_id: queued.append(manual_id)
    )
    lost = _stuck(Manual.Status.QUEUED, "https://vendor.com/a.pdf")  # Redis lost the queue
    killed = _stuck(Manual.Status.FETCHING, "https://vendor.com/b.pdf")  # worker killed
    working = _stuck(Manual.Status.EXTRACTING, "https://vendor.com/c.pdf", expired=False)
    assert services.requeue_stuck() == 2
    assert sorted(queued) == sorted([lost.pk, killed.pk])
    assert Manual.objects.get(pk=killed.pk).status == Manual.Status.QUEUED
    assert Manual.objects.get(pk=working.pk).status == Manual.Status.EXTRACTING
    # Queued again, each holds a fresh queue lease: the next run leaves them alone.
    assert services.requeue_stuck() == 0


def test_the_job_runs_every_minute_from_the_beat_schedule():
    job = PeriodicTask.objects.get(name="requeue_stuck_manuals")
    assert job.enabled and job.task == "apps.manuals.tasks.requeue_stuck_manuals"
    assert job.crontab.minute == "*" and job.crontab.hour == "*"
    assert tasks.requeue_stuck_manuals.name == job.task


def test_prefetch_manuals_picks_up_a_stuck_manual(manual_settings, vendor):
    manual_settings.CELERY_ENABLED = False
    url = vendor.add("/m.pdf", body=make_pdf(["back"]))
    stuck = _stuck(Manual.Status.FETCHING, url)
    call_command("prefetch_manuals", "--sync", stdout=StringIO(), stderr=StringIO())
    assert Manual.objects.get(pk=stuck.pk).status == Manual.Status.READY


def test_a_run_soon_after_another_still_queues_what_got_stuck_since(monkeypatch):
    # Staff may run the job more often than every minute: no run may be skipped for being
    # close to the previous one, or a stuck manual waits that much longer.
    queued: list[int] = []
    monkeypatch.setattr(
        "apps.manuals.services.queueing.enqueue", lambda task, manual_id: queued.append(manual_id)
    )
    assert tasks.requeue_stuck_manuals() == 0
    lost = _stuck(Manual.Status.QUEUED, "https://vendor.com/a.pdf")
    assert tasks.requeue_stuck_manuals() == 1
    assert queued == [lost.pk]
