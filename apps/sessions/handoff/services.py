"""Writes of live support: requests for a person, contacts left, claims, replies, endings.

Each service writes (in one transaction where it writes more than one row) and returns the
events to publish; see events.py. Rules that other processes rely on live in the database:
one open handoff per chat (a partial unique index), one agent per claim (a conditional
UPDATE), one copy of a resent reply (a unique client key).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.sessions.handoff import selectors
from apps.sessions.handoff.events import QUEUE_GROUP, Event, chat_group, conversation_group
from apps.sessions.handoff.phrases import asks_for_person
from apps.sessions.models import AgentPresence, ChatSession, Handoff, Message
from apps.sessions.selectors import message_payload, shown_name

MAX_REPLY = 4000
MAX_NOTE = 4000
MAX_CONTACT = 254
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")


class HandoffError(Exception):
    """A request the current state of the handoff does not allow; `code` is for the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Outcome:
    handoff: Handoff | None
    events: list[Event] = field(default_factory=list)
    created: bool = False


def _state_events(handoff: Handoff) -> list[Event]:
    """What every customer tab and every console must learn when a handoff changes."""
    item = selectors.queue_item_by_id(handoff_id=handoff.pk)
    events = [
        Event(
            chat_group(handoff.session_id),
            {"type": "handoff.state", "state": selectors.customer_state(handoff=handoff)},
        )
    ]
    if item is not None:
        events.append(Event(QUEUE_GROUP, {"type": "queue.item", "item": item}))
    return events


# --- the customer's side ---------------------------------------------------------------------


def request(*, session: ChatSession, reason: str, language: str = "") -> Outcome:
    """Open a handoff for the chat, or return the one already open (a second tab, a retry).

    It waits for an agent when support is open and an agent is there; otherwise it is a
    follow-up that asks the customer for an email address or phone number.
    """
    existing = selectors.open_handoff(session_id=session.pk)
    if existing is not None:
        return Outcome(existing, _state_events(existing))
    if reason not in Handoff.Reason.values:
        reason = Handoff.Reason.ASKED
    _open, live, _opens_at = selectors.live_support_now()
    try:
        with transaction.atomic():
            handoff = Handoff.objects.create(
                session=session,
                status=Handoff.Status.WAITING if live else Handoff.Status.FOLLOW_UP,
                live=live,
                reason=reason,
                product_id=session.product_id,
                language=language[:8],
            )
    except IntegrityError:
        # Another process opened one for this chat at the same moment: that one stands.
        existing = selectors.open_handoff(session_id=session.pk)
        if existing is None:
            raise
        return Outcome(existing, _state_events(existing))
    handoff = selectors.handoff_by_id(handoff_id=handoff.pk)
    assert handoff is not None
    return Outcome(handoff, _state_events(handoff), created=True)


def cancel(*, session: ChatSession) -> Outcome:
    handoff = selectors.open_handoff(session_id=session.pk)
    if handoff is None:
        raise HandoffError("not_found", gettext("No request for a person is open."))
    return _end(handoff, Handoff.Status.CANCELLED)


def parse_contact(text: str) -> tuple[str, str]:
    """('email' or 'phone', the contact as stored); ValidationError with a readable sentence."""
    value = text.strip()
    if len(value) > MAX_CONTACT:
        raise ValidationError(gettext("That contact is too long."))
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(gettext("That email address does not look right.")) from None
        return "email", value
    phone = _PHONE_PUNCTUATION.sub("", value)
    if _PHONE.match(phone):
        return "phone", phone
    raise ValidationError(
        gettext("Please give an email address or a phone number (digits, optionally +).")
    )


def save_contact(*, session: ChatSession, contact: str, text: str, language: str = "") -> Outcome:
    """Keep the customer's email or phone and question for a reply later.

    Nothing is stored until the contact is valid, so a typo costs the customer nothing but a
    second try (the page keeps what they typed).
    """
    kind, value = parse_contact(contact)
    if len(text) > MAX_NOTE:
        raise ValidationError(gettext("Please keep the question under 4000 characters."))
    with transaction.atomic():
        handoff = selectors.open_handoff(session_id=session.pk)
        if handoff is None:
            handoff = Handoff.objects.create(
                session=session,
                status=Handoff.Status.FOLLOW_UP,
                live=False,
                product_id=session.product_id,
                language=language[:8],
            )
        locked = Handoff.objects.select_for_update().get(pk=handoff.pk)
        locked.contact, locked.contact_kind = value, kind
        if text.strip():
            locked.note = (f"{locked.note}\n\n{text.strip()}" if locked.note else text.strip())[
                :MAX_NOTE
            ]
            Message.objects.create(
                session=session,
                role=Message.Role.QUESTION,
                text=text.strip(),
                product_id=session.product_id,
            )
        locked.save(update_fields=["contact", "contact_kind", "note"])
    handoff = selectors.handoff_by_id(handoff_id=handoff.pk)
    assert handoff is not None
    return Outcome(handoff, _state_events(handoff))


def question_to_agent(*, session: ChatSession, handoff: Handoff, text: str) -> tuple[int, Outcome]:
    """A question asked while an agent has the chat: saved and passed to them, not the bot."""
    question = Message.objects.create(
        session=session, role=Message.Role.QUESTION, text=text, product_id=session.product_id
    )
    ChatSession.objects.filter(pk=session.pk).update(last_activity_at=timezone.now())
    return question.pk, Outcome(
        handoff, customer_messages(session_id=session.pk, ids=[question.pk])
    )


@dataclass(frozen=True)
class Taken:
    """A question a person took instead of the bot: its id, and the saved reply to a typed
    request for a person (None when the question went to the agent who has the chat)."""

    question_id: int
    answer: Message | None
    outcome: Outcome


def take_question(*, session: ChatSession, text: str, language: str = "") -> Taken | None:
    """The ask flow's first step (socket and no-JavaScript form alike): while an agent has
    the chat, the question goes to them; a typed request for a person opens a handoff. None
    when the bot should answer."""
    handoff = selectors.open_handoff(session_id=session.pk)
    if handoff is not None and handoff.status == Handoff.Status.ACTIVE:
        question_id, outcome = question_to_agent(session=session, handoff=handoff, text=text)
        return Taken(question_id, None, outcome)
    if not asks_for_person(text):
        return None
    # Asked again while a request is open (waiting, or a follow-up): `request` returns that
    # one, and the answer says where it stands, never the bot's "not covered".
    outcome = request(session=session, reason=Handoff.Reason.ASKED, language=language)
    answer = handed_off_answer(session=session, question_text=text, outcome=outcome)
    assert answer.question_id is not None
    return Taken(answer.question_id, answer, outcome)


def handed_off_answer(*, session: ChatSession, question_text: str, outcome: Outcome) -> Message:
    """The exchange of a typed request for a person, saved like a question and its answer."""
    assert outcome.handoff is not None
    state = selectors.customer_state(handoff=outcome.handoff)
    with transaction.atomic():
        question = Message.objects.create(
            session=session,
            role=Message.Role.QUESTION,
            text=question_text,
            product_id=session.product_id,
        )
        return Message.objects.create(
            session=session,
            role=Message.Role.ANSWER,
            question=question,
            text=state["text"],
            state=Message.State.HANDED_OFF,
            product_id=session.product_id,
        )


def customer_messages(*, session_id: uuid.UUID, ids: list[int]) -> list[Event]:
    """Messages saved in a chat that has an open handoff, for the consoles that show it."""
    if not ids:
        return []
    return [
        Event(
            conversation_group(session_id),
            {
                "type": "conversation.messages",
                "session_id": str(session_id),
                "messages": selectors.message_payloads(ids=ids),
            },
        )
    ]


# --- the agent's side --------------------------------------------------------------------------


def claim(*, handoff_id: int, agent: AbstractBaseUser) -> Outcome:
    """Take the conversation: exactly one of several agents claiming at once succeeds."""
    won = Handoff.objects.filter(
        pk=handoff_id,
        status__in=[Handoff.Status.WAITING, Handoff.Status.FOLLOW_UP],
        agent__isnull=True,
    ).update(status=Handoff.Status.ACTIVE, agent=agent, claimed_at=timezone.now())
    handoff = selectors.handoff_by_id(handoff_id=handoff_id)
    if handoff is None:
        raise HandoffError("not_found", "There is no such conversation.")
    if not won:
        holder = handoff.agent.get_username() if handoff.agent else None
        raise HandoffError(
            "conflict",
            f"{holder} already has this conversation." if holder else "This conversation closed.",
        )
    return Outcome(handoff, _state_events(handoff))


def _claimed_by(handoff_id: int, agent: AbstractBaseUser) -> Handoff:
    handoff = selectors.handoff_by_id(handoff_id=handoff_id)
    if handoff is None:
        raise HandoffError("not_found", "There is no such conversation.")
    if handoff.status != Handoff.Status.ACTIVE or handoff.agent_id != agent.pk:
        raise HandoffError("conflict", "Claim the conversation first.")
    return handoff


def reply(*, handoff_id: int, agent: AbstractBaseUser, text: str, client_key: str) -> Outcome:
    """Save an agent's reply and hand it to the customer's tabs and the consoles.

    A reply resent with the same client key (the console retries after a dropped socket) is
    stored once and published again, which every client shows once (messages carry ids).
    """
    text = text.strip()
    if not text:
        raise HandoffError("invalid", "A reply must not be empty.")
    if len(text) > MAX_REPLY:
        raise HandoffError("too_large", f"A reply may be at most {MAX_REPLY} characters long.")
    if "\x00" in text or not 1 <= len(client_key) <= 64:
        raise HandoffError("invalid", "A reply needs a client key of 1 to 64 characters.")
    handoff = _claimed_by(handoff_id, agent)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                session_id=handoff.session_id,
                role=Message.Role.AGENT,
                text=text,
                author=agent,
                product=handoff.product,
                client_key=client_key,
            )
    except IntegrityError:
        message = Message.objects.get(session_id=handoff.session_id, client_key=client_key)
    now = timezone.now()
    Handoff.objects.filter(pk=handoff.pk, first_reply_at__isnull=True).update(first_reply_at=now)
    ChatSession.objects.filter(pk=handoff.session_id).update(last_activity_at=now)
    message = Message.objects.select_related("author", "product", "feedback").get(pk=message.pk)
    payload = message_payload(message)
    return Outcome(
        handoff,
        [
            Event(
                chat_group(handoff.session_id),
                {"type": "agent.message", "handoff_id": handoff.pk, "message": payload},
            ),
            Event(
                conversation_group(handoff.session_id),
                {
                    "type": "conversation.messages",
                    "session_id": str(handoff.session_id),
                    "messages": [payload],
                    "client_key": client_key,
                },
            ),
        ],
    )


def typing(*, session_id: uuid.UUID, agent: AbstractBaseUser, active: bool) -> list[Event]:
    name = shown_name(agent)
    return [
        Event(chat_group(session_id), {"type": "agent.typing", "typing": active, "agent": name})
    ]


def release(*, handoff_id: int, agent: AbstractBaseUser) -> Outcome:
    """Hand the chat back to the bot: the customer's next question is answered from the manual."""
    return _end(_claimed_by(handoff_id, agent), Handoff.Status.RETURNED)


def requeue(*, handoff_id: int, agent: AbstractBaseUser) -> Outcome:
    """Hand the chat back to the queue for another agent: it waits again at its place (the
    queue goes by request time), or becomes a follow-up when no agent is there now."""
    handoff = _claimed_by(handoff_id, agent)
    _open, live, _opens_at = selectors.live_support_now()
    moved = Handoff.objects.filter(
        pk=handoff.pk, status=Handoff.Status.ACTIVE, agent_id=agent.pk
    ).update(
        status=Handoff.Status.WAITING if live else Handoff.Status.FOLLOW_UP,
        agent=None,
        # The next claim sets it again: the wait until then counts as waiting.
        claimed_at=None,
    )
    if not moved:
        raise HandoffError("conflict", "The conversation changed meanwhile; look again.")
    fresh = selectors.handoff_by_id(handoff_id=handoff.pk)
    assert fresh is not None
    return Outcome(fresh, _state_events(fresh))


def close(*, handoff_id: int, agent: AbstractBaseUser) -> Outcome:
    """End the conversation. A follow-up may be closed without claiming it (answered by phone)."""
    handoff = selectors.handoff_by_id(handoff_id=handoff_id)
    if handoff is None:
        raise HandoffError("not_found", "There is no such conversation.")
    if handoff.status == Handoff.Status.ACTIVE and handoff.agent_id != agent.pk:
        raise HandoffError("conflict", "Another agent has this conversation.")
    if not handoff.is_open:
        raise HandoffError("conflict", "This conversation is already closed.")
    return _end(handoff, Handoff.Status.RESOLVED)


def _end(handoff: Handoff, status: str) -> Outcome:
    ended = Handoff.objects.filter(pk=handoff.pk, status=handoff.status).update(
        status=status, closed_at=timezone.now()
    )
    if not ended:
        raise HandoffError("conflict", "The conversation changed meanwhile; look again.")
    fresh = selectors.handoff_by_id(handoff_id=handoff.pk)
    assert fresh is not None
    return Outcome(fresh, _state_events(fresh))


# --- presence ----------------------------------------------------------------------------------


def agent_seen(*, agent: AbstractBaseUser, channel_name: str, now: datetime | None = None) -> None:
    AgentPresence.objects.update_or_create(
        channel_name=channel_name, defaults={"agent": agent, "seen_at": now or timezone.now()}
    )


def agent_gone(*, channel_name: str) -> None:
    AgentPresence.objects.filter(channel_name=channel_name).delete()
    # Rows of consoles whose process died are of no use to anyone.
    stale = timezone.now() - timedelta(seconds=10 * settings.SUPPORT_AGENT_AWAY_SECONDS)
    AgentPresence.objects.filter(seen_at__lt=stale).delete()
