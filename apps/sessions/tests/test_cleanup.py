from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.sessions.management.commands.cleanup_sessions import parse_duration
from apps.sessions.models import ChatSession, Feedback, Message
from apps.sessions.services import delete_idle_sessions

pytestmark = pytest.mark.django_db


def chat_idle_for(days: float) -> ChatSession:
    session = ChatSession.objects.create(owner_key="owner")
    question = Message.objects.create(session=session, role=Message.Role.QUESTION, text="How?")
    answer = Message.objects.create(
        session=session, role=Message.Role.ANSWER, text="Like so.", question=question
    )
    Feedback.objects.create(message=answer, rating=1)
    ChatSession.objects.filter(pk=session.pk).update(
        last_activity_at=timezone.now() - timedelta(days=days)
    )
    return session


def test_cleanup_removes_idle_sessions_with_their_messages_and_keeps_recent_ones() -> None:
    old = chat_idle_for(45)
    recent = chat_idle_for(2)
    result = delete_idle_sessions(idle_for=timedelta(days=30))
    assert (result.sessions, result.messages) == (1, 2)
    assert list(ChatSession.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Message.objects.filter(session_id=old.pk).exists()
    assert Message.objects.filter(session=recent).count() == 2
    assert Feedback.objects.count() == 1


def test_cleanup_in_small_batches_removes_them_all() -> None:
    for _ in range(5):
        chat_idle_for(40)
    result = delete_idle_sessions(idle_for=timedelta(days=30), batch_size=2)
    assert result.sessions == 5
    assert not ChatSession.objects.exists()


def test_running_cleanup_twice_removes_nothing_more() -> None:
    chat_idle_for(40)
    chat_idle_for(1)
    delete_idle_sessions(idle_for=timedelta(days=30))
    again = delete_idle_sessions(idle_for=timedelta(days=30))
    assert (again.sessions, again.messages) == (0, 0)
    assert ChatSession.objects.count() == 1


def test_the_command_dry_run_counts_and_deletes_nothing() -> None:
    chat_idle_for(10)
    out = StringIO()
    call_command("cleanup_sessions", "--older-than", "7d", "--dry-run", stdout=out)
    assert "would delete 1 sessions and 2 messages" in out.getvalue()
    assert ChatSession.objects.count() == 1


def test_the_command_deletes_what_is_older_than_asked() -> None:
    chat_idle_for(10)
    chat_idle_for(1)
    out = StringIO()
    call_command("cleanup_sessions", "--older-than", "168h", stdout=out)
    assert "deleted 1 sessions and 2 messages" in out.getvalue()
    assert ChatSession.objects.count() == 1


def test_the_command_uses_the_retention_setting_by_default(settings) -> None:
    settings.CHAT_SESSION_RETENTION_DAYS = 5
    chat_idle_for(6)
    chat_idle_for(4)
    call_command("cleanup_sessions", stdout=StringIO())
    assert ChatSession.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("30", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("3600s", timedelta(seconds=3600)),
    ],
)
def test_durations_are_read_in_days_hours_minutes_or_seconds(
    text: str, expected: timedelta
) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "-3d", "3w", "soon"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(CommandError):
        parse_duration(text)
