"""Writes to chat sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.products.models import Product
from apps.sessions.models import ChatSession, Message, Site

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def create_session(
    *,
    owner_key: str,
    language: str | None = None,
    site: Site | None = None,
    product: Product | None = None,
) -> ChatSession:
    return ChatSession.objects.create(
        owner_key=owner_key,
        language=language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE,
        site=site,
        product=product,
    )


def set_language(*, session: ChatSession, language: str) -> None:
    """Keep the chat in `language` from now on (its page, states and answers)."""
    if language not in LANGUAGE_CODES:
        raise ValueError(f"unsupported language {language!r}")
    ChatSession.objects.filter(pk=session.pk).update(language=language)
    session.language = language


def set_focus(*, session_id: uuid.UUID, product_pk: int | None) -> None:
    """Record the product in focus and that the customer is still there (cleanup spares
    active chats)."""
    ChatSession.objects.filter(pk=session_id).update(
        product_id=product_pk, last_activity_at=timezone.now()
    )


@dataclass(frozen=True)
class CleanupResult:
    sessions: int
    messages: int


def delete_idle_sessions(
    *, idle_for: timedelta, dry_run: bool = False, batch_size: int = 500
) -> CleanupResult:
    """Remove chat sessions idle for longer than `idle_for`, with their messages and feedback.

    Batches keep each transaction (and its row locks) short on a large backlog. Running it
    twice removes nothing more the second time, so a duplicate scheduled run is harmless.
    """
    cutoff = timezone.now() - idle_for
    idle = ChatSession.objects.filter(last_activity_at__lt=cutoff)
    if dry_run:
        return CleanupResult(
            sessions=idle.count(), messages=Message.objects.filter(session__in=idle).count()
        )
    sessions = messages = 0
    while True:
        batch = list(idle.order_by("last_activity_at").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return CleanupResult(sessions=sessions, messages=messages)
        with transaction.atomic():
            _total, per_model = ChatSession.objects.filter(pk__in=batch).delete()
        sessions += per_model.get(ChatSession._meta.label, 0)
        messages += per_model.get(Message._meta.label, 0)
