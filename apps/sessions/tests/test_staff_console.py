"""The staff console: its branding, empty chats kept out of the way, periodic jobs run by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.devtools.testing import wait_until
from apps.sessions.models import ChatSession
from apps.sessions.tests.page_data import add_exchange, make_product, start_chat

CHANGELIST = "/admin/chat/chatsession/"


@pytest.fixture
def admin_client_() -> Client:
    user = User.objects.create_superuser("boss", password="x")
    client = Client()
    client.force_login(user)
    return client


def _listed(client: Client, query: str = "") -> set[str]:
    response = client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    return {str(session.pk) for session in response.context["cl"].result_list}


@pytest.mark.django_db
def test_the_admin_is_branded_as_the_support_center(admin_client_: Client):
    html = admin_client_.get("/admin/").content.decode()
    assert "Django administration" not in html
    assert "Halilit Support Center" in html
    login = Client().get("/admin/login/").content.decode()
    assert "Django administration" not in login and "Halilit Support Center" in login


@pytest.mark.django_db
def test_chats_nobody_wrote_in_are_hidden_from_the_list_unless_asked_for(admin_client_: Client):
    customer = Client()
    empty = str(start_chat(customer).pk)
    written = start_chat(customer)
    add_exchange(session=written, product=make_product(), question="Hi?", answer="Hello [p. 1]")

    assert _listed(admin_client_) == {str(written.pk)}
    assert _listed(admin_client_, "messages=empty") == {empty}
    assert _listed(admin_client_, "messages=all") == {empty, str(written.pk)}
    page = admin_client_.get(CHANGELIST).content.decode()
    assert "With messages" in page and "All, empty ones too" in page


@pytest.mark.django_db(transaction=True)
def test_run_selected_tasks_runs_the_job_in_process_when_no_worker_runs(
    admin_client_: Client, settings
):
    settings.CELERY_ENABLED = False
    settings.SCHEDULE_LOCK_SECONDS = 1
    stale = ChatSession.objects.create(owner_key="gone")
    ChatSession.objects.filter(pk=stale.pk).update(
        last_activity_at=timezone.now() - timedelta(days=400)
    )
    # Its own row: a transactional test's flush removes the one the migration made.
    every_day = CrontabSchedule.objects.create(minute="0", hour="3")
    job = PeriodicTask.objects.create(
        name="cleanup by hand", task="apps.sessions.tasks.cleanup_old_sessions", crontab=every_day
    )
    response = admin_client_.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "run_tasks", "_selected_action": [job.pk]},
        follow=True,
    )
    shown = [str(message) for message in response.context["messages"]]
    assert any("no Celery worker runs" in message for message in shown), shown
    wait_until(
        lambda: not ChatSession.objects.filter(pk=stale.pk).exists(),
        within=10,
        what="the job ran and removed the stale chat",
    )
