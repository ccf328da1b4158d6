"""Reads for live support: the open handoff of a chat, the queue, availability, wait estimates,
and the handoff messages of the chat socket (built by apps.sessions.protocol) and the console."""

from __future__ import annotations

import math
import statistics
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from apps.sessions import protocol
from apps.sessions.handoff.hours import current_week
from apps.sessions.models import AgentPresence, Handoff, Message
from apps.sessions.selectors import message_payload, shown_name

# Wait estimates look at this many recent live handoffs, claimed within this many days.
_RECENT_WAITS = 20
_RECENT_DAYS = 7


def open_handoff(*, session_id: uuid.UUID) -> Handoff | None:
    return (
        Handoff.objects.filter(session_id=session_id, status__in=Handoff.OPEN)
        .select_related("agent", "product")
        .first()
    )


def handoff_by_id(*, handoff_id: int) -> Handoff | None:
    return Handoff.objects.filter(pk=handoff_id).select_related("agent", "product").first()


def agents_online(*, now: datetime | None = None) -> int:
    """Agents with a staff console open (each counted once, whatever its number of tabs)."""
    since = (now or timezone.now()) - timedelta(seconds=settings.SUPPORT_AGENT_AWAY_SECONDS)
    return AgentPresence.objects.filter(seen_at__gte=since).values("agent").distinct().count()


def live_support_now(*, now: datetime | None = None) -> tuple[bool, bool, datetime | None]:
    """(open by the hours, an agent is there, the next opening when closed)."""
    moment = now or timezone.now()
    week = current_week(at=moment)
    is_open = week.open_at(moment)
    return (
        is_open,
        is_open and agents_online(now=moment) > 0,
        (None if is_open else week.next_opening(moment)),
    )


def recent_wait_minutes(*, now: datetime | None = None) -> float:
    """The median wait of recent live handoffs, in minutes (the configured default at first)."""
    since = (now or timezone.now()) - timedelta(days=_RECENT_DAYS)
    rows = (
        Handoff.objects.filter(live=True, claimed_at__isnull=False, claimed_at__gte=since)
        .order_by("-claimed_at")
        .values_list("requested_at", "claimed_at")[:_RECENT_WAITS]
    )
    waits = [(claimed - requested).total_seconds() / 60 for requested, claimed in rows]
    return statistics.median(waits) if waits else float(settings.SUPPORT_DEFAULT_WAIT_MINUTES)


def queue_position(*, handoff: Handoff) -> int:
    ahead = Handoff.objects.filter(
        status=Handoff.Status.WAITING, requested_at__lt=handoff.requested_at
    ).count()
    return ahead + 1


def estimated_wait_minutes(*, position: int, agents: int, typical: float) -> int:
    """Minutes until an agent answers: the typical wait, longer when the queue outnumbers the
    agents; never below one minute."""
    return max(1, math.ceil(typical * max(1.0, position / max(agents, 1))))


def customer_state(*, handoff: Handoff, now: datetime | None = None) -> dict[str, Any]:
    """The `handoff_state` message for the customer's socket (protocol 1.1), its sentence in
    the language the customer asked in."""
    with translation.override(handoff.language or None):
        return _customer_state(handoff, now or timezone.now())


def _customer_state(handoff: Handoff, moment: datetime) -> dict[str, Any]:
    is_open, live, opens_at = live_support_now(now=moment)
    state = handoff.status
    agent_name = shown_name(handoff.agent)
    wait_minutes = position = None
    if state == Handoff.Status.WAITING:
        position = queue_position(handoff=handoff)
        wait_minutes = estimated_wait_minutes(
            position=position, agents=agents_online(now=moment), typical=recent_wait_minutes()
        )
        text = ngettext(
            "A person will answer here shortly (about %(minutes)d minute).",
            "A person will answer here shortly (about %(minutes)d minutes).",
            wait_minutes,
        ) % {"minutes": wait_minutes}
    elif state == Handoff.Status.ACTIVE and agent_name:
        text = gettext("%(name)s from our support team is here to help.") % {"name": agent_name}
    elif state == Handoff.Status.ACTIVE:
        text = gettext("A member of our support team is here to help.")
    elif state == Handoff.Status.FOLLOW_UP and handoff.contact:
        text = gettext(
            "Thank you. We will reply to %(contact)s as soon as we can; the reply will also "
            "appear here."
        ) % {"contact": handoff.contact}
    elif state == Handoff.Status.FOLLOW_UP and not is_open:
        text = gettext(
            "We are closed right now. Leave your question and an email address or phone number, "
            "and we will reply."
        )
    elif state == Handoff.Status.FOLLOW_UP:
        text = gettext(
            "No one is free to answer right now. Leave your question and an email address or "
            "phone number, and we will reply."
        )
    elif state == Handoff.Status.RETURNED:
        text = gettext("You are back with the automatic assistant. Ask away.")
    elif state == Handoff.Status.CANCELLED:
        text = gettext("You cancelled the request for a person.")
    else:
        text = gettext(
            "Our support team closed this conversation. You can keep asking about your "
            "product here."
        )
    return protocol.handoff_state(
        handoff_id=handoff.pk,
        state=state,
        reason=handoff.reason,
        text=text,
        wait_minutes=wait_minutes,
        position=position,
        agent_name=agent_name,
        open_now=is_open,
        agents_available=live,
        opens_at=opens_at,
        needs_contact=state == Handoff.Status.FOLLOW_UP and not handoff.contact,
        contact_saved=bool(handoff.contact),
    )


def offer(*, reason: str, lang: str = "", now: datetime | None = None) -> dict[str, Any]:
    """The `handoff_offer` message: a person is offered, with what taking the offer means."""
    with translation.override(lang or None):
        return _offer(reason, now or timezone.now())


def _offer(reason: str, moment: datetime) -> dict[str, Any]:
    is_open, live, opens_at = live_support_now(now=moment)
    if live:
        minutes = estimated_wait_minutes(
            position=Handoff.objects.filter(status=Handoff.Status.WAITING).count() + 1,
            agents=agents_online(now=moment),
            typical=recent_wait_minutes(),
        )
        text = ngettext(
            "Would you like to talk to a person? One can answer here in about %(minutes)d minute.",
            "Would you like to talk to a person? One can answer here in about %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    else:
        minutes = None
        text = gettext(
            "Would you like a person to look into this? Leave your question and an email "
            "address or phone number, and we will reply."
        )
    return protocol.handoff_offer(
        reason=reason,
        text=text,
        open_now=is_open,
        agents_available=live,
        wait_minutes=minutes,
        opens_at=opens_at,
    )


# --- the staff console -------------------------------------------------------------------------


def _with_last_answer(handoffs: QuerySet[Handoff]) -> QuerySet[Handoff]:
    answers = Message.objects.filter(session=OuterRef("session"), role=Message.Role.ANSWER)
    answers = answers.order_by("-created_at", "-pk")
    questions = Message.objects.filter(session=OuterRef("session"), role=Message.Role.QUESTION)
    questions = questions.order_by("-created_at", "-pk")
    return handoffs.annotate(
        last_answer_text=Subquery(answers.values("text")[:1]),
        last_answer_state=Subquery(answers.values("state")[:1]),
        last_question_text=Subquery(questions.values("text")[:1]),
    )


def queue_item(handoff: Handoff, *, now: datetime | None = None) -> dict[str, Any]:
    """A handoff as the console lists it."""
    moment = now or timezone.now()
    product = handoff.product
    return {
        "id": handoff.pk,
        "session_id": str(handoff.session_id),
        "status": handoff.status,
        "reason": handoff.reason,
        "language": handoff.language,
        "product": {"id": product.catalog_id, "name": product.name} if product else None,
        # Staff see who has it by the name they know, the login when there is no first name.
        "agent": (
            {"id": agent.pk, "name": agent.get_short_name() or agent.get_username()}
            if (agent := handoff.agent) is not None
            else None
        ),
        "requested_at": handoff.requested_at.isoformat(),
        "claimed_at": handoff.claimed_at.isoformat() if handoff.claimed_at else None,
        "wait_seconds": round(handoff.wait_seconds(moment) or 0),
        "contact": handoff.contact,
        "contact_kind": handoff.contact_kind,
        "note": handoff.note,
        "last_answer": (
            {
                "text": getattr(handoff, "last_answer_text", None),
                "state": getattr(handoff, "last_answer_state", None),
            }
            if getattr(handoff, "last_answer_text", None) is not None
            else None
        ),
        "last_question": getattr(handoff, "last_question_text", None),
    }


def queue(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every open handoff, the longest waiting first."""
    handoffs = _with_last_answer(
        Handoff.objects.filter(status__in=Handoff.OPEN).select_related("agent", "product")
    ).order_by("requested_at", "pk")
    return [queue_item(handoff, now=now) for handoff in handoffs]


def queue_item_by_id(*, handoff_id: int) -> dict[str, Any] | None:
    handoff = (
        _with_last_answer(Handoff.objects.filter(pk=handoff_id))
        .select_related("agent", "product")
        .first()
    )
    return queue_item(handoff) if handoff is not None else None


def conversation(*, handoff_id: int) -> dict[str, Any] | None:
    """A handoff with its whole transcript, citations included, for the console."""
    item = queue_item_by_id(handoff_id=handoff_id)
    if item is None:
        return None
    messages = (
        Message.objects.filter(session_id=item["session_id"])
        .select_related("product", "feedback", "author")
        .order_by("created_at", "id")
    )
    return {"handoff": item, "messages": [message_payload(m) for m in messages]}


def message_payloads(*, ids: list[int]) -> list[dict[str, Any]]:
    messages = (
        Message.objects.filter(pk__in=ids)
        .select_related("product", "feedback", "author")
        .order_by("created_at", "id")
    )
    return [message_payload(m) for m in messages]
