"""Celery adapters for chat-session jobs."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.sessions import services
from hscjit.schedules import claim_run


@shared_task
def cleanup_old_sessions() -> dict[str, int] | None:
    """Scheduled daily (see migration chat 0002); None when a duplicate run was skipped."""
    if not claim_run("cleanup_old_sessions"):
        return None
    result = services.delete_idle_sessions(
        idle_for=timedelta(days=settings.CHAT_SESSION_RETENTION_DAYS)
    )
    return {"sessions": result.sessions, "messages": result.messages}


@shared_task
def embed_unanswered_questions() -> int | None:
    """Scheduled hourly (migration chat 0007): vectors for the content-gaps clusters."""
    from apps.sessions.dashboard import clusters, selectors

    if not claim_run("embed_unanswered_questions"):
        return None
    return clusters.embed_questions(start=selectors.since(30))
