from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from apps.products.tasks import regenerate_product_cache
from apps.sessions.tasks import cleanup_old_sessions
from hscjit.celery import app
from hscjit.schedules import claim_run

JOBS = {
    "cleanup_old_sessions": "apps.sessions.tasks.cleanup_old_sessions",
    "regenerate_product_cache": "apps.products.tasks.regenerate_product_cache",
    "refresh_manuals": "apps.manuals.tasks.refresh_manuals",
}


def run_the_migration() -> None:
    """Run chat 0002's own code against the migrated schema.

    Its rows are there after `migrate`, but a transactional test elsewhere in the suite may
    have flushed them; creating them again is a no-op when they exist.
    """
    state = MigrationExecutor(connection).loader.project_state(("chat", "0002_periodic_tasks"))
    migration = importlib.import_module("apps.sessions.migrations.0002_periodic_tasks")
    migration.create_jobs(state.apps, None)


@pytest.mark.django_db
def test_migrate_creates_the_three_periodic_jobs_on_their_schedules() -> None:
    run_the_migration()
    app.loader.import_default_modules()  # every app's tasks, as a worker has them
    tasks = {task.name: task for task in PeriodicTask.objects.filter(name__in=JOBS)}
    assert {name: task.task for name, task in tasks.items()} == JOBS
    assert all(task.enabled for task in tasks.values())
    cleanup = tasks["cleanup_old_sessions"].crontab
    assert (cleanup.minute, cleanup.hour, cleanup.day_of_week) == ("0", "3", "*")
    assert str(cleanup.timezone) == "UTC"
    hourly = tasks["regenerate_product_cache"].crontab
    assert (hourly.minute, hourly.hour) == ("0", "*")
    weekly = tasks["refresh_manuals"].crontab
    assert weekly.day_of_week == "0"
    for task in tasks.values():
        assert task.task in app.tasks


# The scheduler commits and closes connections, which a test transaction would not survive.
@pytest.mark.django_db(transaction=True)
def test_a_disabled_job_leaves_the_running_schedule_and_an_edit_needs_no_restart() -> None:
    run_the_migration()
    scheduler = DatabaseScheduler(app=app)
    assert "regenerate_product_cache" in scheduler.schedule
    # A running beat reads the schedule on every tick; the first read after the initial
    # one notes the change stamp that later edits are compared with.
    assert "regenerate_product_cache" in scheduler.schedule

    job = PeriodicTask.objects.get(name="regenerate_product_cache")
    job.enabled = False
    job.save()  # what the admin does; it stamps PeriodicTasks.changed
    assert "regenerate_product_cache" not in scheduler.schedule

    job.enabled = True
    job.save()
    assert "regenerate_product_cache" in scheduler.schedule


@pytest.mark.django_db
def test_a_second_run_of_a_job_within_the_window_is_skipped() -> None:
    assert claim_run("test-job", seconds=60) is True
    assert claim_run("test-job", seconds=60) is False
    assert claim_run("another-job", seconds=60) is True


@pytest.mark.django_db
def test_a_duplicate_scheduled_task_does_nothing() -> None:
    first = cleanup_old_sessions.apply().get()
    second = cleanup_old_sessions.apply().get()
    assert first == {"sessions": 0, "messages": 0}
    assert second is None
    assert regenerate_product_cache.apply().get() == {"cards": 0}
    assert regenerate_product_cache.apply().get() is None
