"""Live support: asking for a person, opening hours, claims, replies, contacts, the socket."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.sessions.handoff import selectors, services
from apps.sessions.handoff.hours import current_week
from apps.sessions.handoff.phrases import asks_for_person
from apps.sessions.models import (
    AgentPresence,
    ChatSession,
    ClosedDay,
    Handoff,
    Message,
    OpeningHours,
)
from apps.sessions.tests.sockets import communicator, make_chat, receive_type

JERUSALEM = ZoneInfo("Asia/Jerusalem")


def _always_open() -> None:
    OpeningHours.objects.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(weekday=day, opens=dt.time(0), closes=dt.time(23, 59, 59)) for day in range(7)
    )


def _agent(name: str = "dana", *, online: bool = True) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True, first_name=name.title())
    if online:
        AgentPresence.objects.create(
            agent=user, channel_name=f"chan-{name}", seen_at=timezone.now()
        )
    return user


@pytest.mark.parametrize(
    "text",
    [
        "talk to a person",
        "Human",
        "I want to speak with an agent please",
        "נציג",
        "לדבר עם נציג",
        "אני רוצה לדבר עם נציג",
        "can I talk to someone?",
        "representative",
        "can i talk to a real person pls",
        "human now thanks",
    ],
)
def test_it_hears_a_request_for_a_person(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "the agent preset is silent",
        "how do I record a human voice sample on the RC-600",
        "מה הנציג של רולנד אמר על הכבל של המקלדת הזאת",
        "person"[:3],
        "thanks",
        "",
    ],
)
def test_it_leaves_product_questions_to_the_manual(text: str) -> None:
    assert not asks_for_person(text)


@pytest.mark.django_db
def test_the_default_hours_are_sunday_to_thursday_nine_to_six_and_friday_to_one() -> None:
    week = current_week(at=timezone.now())
    sunday_ten = dt.datetime(2026, 12, 6, 10, 0, tzinfo=JERUSALEM)  # a Sunday
    assert week.open_at(sunday_ten)
    assert not week.open_at(sunday_ten.replace(hour=18, minute=30))
    assert week.open_at(sunday_ten + dt.timedelta(days=5, hours=2))  # Friday 12:00
    assert not week.open_at(sunday_ten + dt.timedelta(days=5, hours=4))  # Friday 14:00
    saturday = sunday_ten + dt.timedelta(days=6)
    assert not week.open_at(saturday)
    assert week.next_opening(saturday) == dt.datetime(2026, 12, 13, 9, 0, tzinfo=JERUSALEM)


@pytest.mark.django_db
def test_a_closed_day_closes_support_whatever_the_weekly_hours() -> None:
    ClosedDay.objects.create(date=dt.date(2026, 12, 6), note="Holiday")
    sunday_ten = dt.datetime(2026, 12, 6, 10, 0, tzinfo=JERUSALEM)
    week = current_week(at=sunday_ten)
    assert not week.open_at(sunday_ten)
    assert week.next_opening(sunday_ten).date() == dt.date(2026, 12, 7)


@pytest.mark.django_db
def test_a_request_waits_for_an_agent_when_open_and_one_is_there() -> None:
    _always_open()
    _agent()
    chat = ChatSession.objects.create(owner_key="k")
    outcome = services.request(session=chat, reason="asked", language="en")
    assert outcome.created and outcome.handoff.status == Handoff.Status.WAITING
    state = selectors.customer_state(handoff=outcome.handoff)
    assert state["state"] == "waiting" and state["wait_minutes"] >= 1
    assert "shortly" in state["text"] and str(state["wait_minutes"]) in state["text"]
    groups = {event.group for event in outcome.events}
    assert groups == {"support.queue", f"chat.session.{chat.pk.hex}"}
    # A second tab asking again gets the same handoff, not a second one.
    again = services.request(session=chat, reason="asked")
    assert not again.created and again.handoff.pk == outcome.handoff.pk


@pytest.mark.django_db
def test_with_no_agent_there_a_request_asks_for_a_contact_and_keeps_it() -> None:
    _always_open()
    chat = ChatSession.objects.create(owner_key="k")
    handoff = services.request(session=chat, reason="not_in_manual").handoff
    assert handoff.status == Handoff.Status.FOLLOW_UP and not handoff.live
    assert selectors.customer_state(handoff=handoff)["needs_contact"]
    with pytest.raises(ValidationError):
        services.save_contact(session=chat, contact="not a contact", text="Is it covered?")
    assert not Handoff.objects.get(pk=handoff.pk).contact
    saved = services.save_contact(session=chat, contact="+972 (54) 123-4567", text="Is it covered?")
    assert (saved.handoff.contact, saved.handoff.contact_kind) == ("+972541234567", "phone")
    assert saved.handoff.note == "Is it covered?"
    assert Message.objects.filter(session=chat, role="question", text="Is it covered?").exists()
    assert selectors.customer_state(handoff=saved.handoff)["contact_saved"]


@pytest.mark.django_db
def test_a_claim_is_exclusive_and_only_the_claimer_replies() -> None:
    _always_open()
    first, second = _agent("dana"), _agent("omer")
    chat = ChatSession.objects.create(owner_key="k")
    handoff = services.request(session=chat, reason="asked").handoff
    services.claim(handoff_id=handoff.pk, agent=first)
    with pytest.raises(services.HandoffError) as lost:
        services.claim(handoff_id=handoff.pk, agent=second)
    assert lost.value.code == "conflict"
    with pytest.raises(services.HandoffError):
        services.reply(handoff_id=handoff.pk, agent=second, text="hi", client_key="a")
    reply = services.reply(handoff_id=handoff.pk, agent=first, text="Hello!", client_key="c1")
    sent = [e.message for e in reply.events if e.message["type"] == "agent.message"]
    assert sent[0]["message"]["author"] == "Dana" and sent[0]["message"]["role"] == "agent"


@pytest.mark.django_db
def test_customers_see_an_agent_s_first_name_never_their_login_name() -> None:
    _always_open()
    agent = User.objects.create_user("dcohen", password="x", is_staff=True)  # no first name
    chat = ChatSession.objects.create(owner_key="k")
    handoff = services.request(session=chat, reason="asked").handoff
    claimed = services.claim(handoff_id=handoff.pk, agent=agent).handoff
    state = selectors.customer_state(handoff=claimed)
    assert state["text"] == "A member of our support team is here to help."
    assert state["agent"] is None
    reply = services.reply(handoff_id=handoff.pk, agent=agent, text="Hello!", client_key="c1")
    sent = [e.message for e in reply.events if e.message["type"] == "agent.message"]
    assert sent[0]["message"]["author"] is None
    (typing,) = services.typing(session_id=chat.pk, agent=agent, active=True)
    assert typing.message["agent"] is None
    assert "dcohen" not in str(state) + str(sent)
    # Staff, in the console's queue, see who has it by the login.
    assert selectors.queue_item_by_id(handoff_id=handoff.pk)["agent"]["name"] == "dcohen"


@pytest.mark.django_db
def test_a_resent_reply_is_stored_once() -> None:
    _always_open()
    agent = _agent()
    chat = ChatSession.objects.create(owner_key="k")
    handoff = services.request(session=chat, reason="asked").handoff
    services.claim(handoff_id=handoff.pk, agent=agent)
    one = services.reply(handoff_id=handoff.pk, agent=agent, text="Hello", client_key="k1")
    two = services.reply(handoff_id=handoff.pk, agent=agent, text="Hello", client_key="k1")
    ids = {e.message["message"]["id"] for e in one.events + two.events if "message" in e.message}
    assert len(ids) == 1
    assert Message.objects.filter(session=chat, role="agent").count() == 1


@pytest.mark.django_db
def test_the_wait_estimate_follows_recent_waits_and_the_queue() -> None:
    now = timezone.now()
    chat = ChatSession.objects.create(owner_key="k")
    for minutes in (2, 4, 6):
        Handoff.objects.create(
            session=chat,
            status=Handoff.Status.RESOLVED,
            live=True,
            claimed_at=now - dt.timedelta(minutes=1),
        )
    Handoff.objects.filter(session=chat).update(requested_at=now - dt.timedelta(minutes=5))
    assert selectors.recent_wait_minutes(now=now) == pytest.approx(4.0)
    assert selectors.estimated_wait_minutes(position=1, agents=2, typical=4.0) == 4
    assert selectors.estimated_wait_minutes(position=6, agents=2, typical=4.0) == 12


@pytest.mark.django_db
def test_a_socket_reads_its_session_and_whether_a_handoff_is_open_in_one_query() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.sessions.selectors import session_for_socket

    chat = ChatSession.objects.create(owner_key="k")
    Handoff.objects.create(session=chat, status=Handoff.Status.RESOLVED)
    with CaptureQueriesContext(connection) as queries:
        assert session_for_socket(session_id=chat.pk).has_open_handoff is False
    assert len(queries.captured_queries) == 1
    Handoff.objects.create(session=chat, status=Handoff.Status.WAITING)
    assert session_for_socket(session_id=str(chat.pk)).has_open_handoff is True
    assert session_for_socket(session_id="not-a-uuid") is None


# --- over the socket ----------------------------------------------------------------------------


async def _open(chat: ChatSession, key: str) -> Any:
    comm = communicator(chat.pk, key)
    connected, _ = await comm.connect()
    assert connected
    return comm


@pytest.mark.django_db(transaction=True)
async def test_a_typed_request_hands_off_and_the_agent_reply_arrives_live_and_on_reconnect() -> (
    None
):
    await database_sync_to_async(_always_open)()
    agent = await database_sync_to_async(_agent)()
    chat, key = await make_chat()
    comm = await _open(chat, key)
    try:
        await comm.send_json_to({"type": "ask", "ref": "q1", "text": "לדבר עם נציג"})
        end = await receive_type(comm, "answer_end")
        assert end["state"] == "handed_off" and end["message_id"]
        state = await receive_type(comm, "handoff_state")
        assert state["state"] == "waiting"
        handoff = await database_sync_to_async(selectors.open_handoff)(session_id=chat.pk)
        assert handoff.language  # the language the customer used is kept for the agent

        from channels.layers import get_channel_layer

        from apps.sessions.handoff.events import apublish

        claim = await database_sync_to_async(services.claim)(handoff_id=handoff.pk, agent=agent)
        await apublish(get_channel_layer(), claim.events)
        active = await receive_type(comm, "handoff_state")
        assert active["state"] == "active" and active["agent"]["name"] == "Dana"
        reply = await database_sync_to_async(services.reply)(
            handoff_id=handoff.pk, agent=agent, text="How can I help?", client_key="r1"
        )
        await apublish(get_channel_layer(), reply.events)
        live = await receive_type(comm, "agent_message")
        assert live["text"] == "How can I help?" and live["author"] == "Dana"

        # While the agent has the chat, a question goes to them, not to the manual.
        await comm.send_json_to({"type": "ask", "ref": "q2", "text": "Is the warranty 2 years?"})
        passed = await receive_type(comm, "answer_end")
        assert passed["state"] == "handed_off" and passed["message_id"] is None
    finally:
        await comm.disconnect()
    # Back after a dropped connection: the state is sent again, and the reply is in the history.
    again = await _open(chat, key)
    try:
        state = await receive_type(again, "handoff_state")
        assert state["state"] == "active"
    finally:
        await again.disconnect()
    texts = await database_sync_to_async(
        lambda: list(Message.objects.filter(session=chat).values_list("role", "text"))
    )()
    assert ("agent", "How can I help?") in texts and (
        "question",
        "Is the warranty 2 years?",
    ) in texts


@pytest.mark.django_db(transaction=True)
async def test_a_bad_contact_is_refused_with_a_reason_and_a_good_one_is_confirmed() -> None:
    chat, key = await make_chat()
    comm = await _open(chat, key)
    try:
        await comm.send_json_to({"type": "handoff_request", "ref": "h1"})
        state = await receive_type(comm, "handoff_state")
        assert state["ref"] == "h1" and state["needs_contact"]  # no agent online
        await comm.send_json_to({"type": "contact", "ref": "c1", "contact": "dana@", "text": "x"})
        error = await receive_type(comm, "error")
        assert (error["code"], error["ref"]) == ("invalid", "c1") and "email" in error["message"]
        await comm.send_json_to(
            {"type": "contact", "ref": "c2", "contact": "dana@example.com", "text": "Warranty?"}
        )
        saved = await receive_type(comm, "handoff_state")
        assert (
            saved["ref"] == "c2" and saved["contact_saved"] and "dana@example.com" in saved["text"]
        )
    finally:
        await comm.disconnect()


@pytest.mark.django_db
def test_the_form_without_javascript_hands_a_typed_request_to_a_person(client: Any) -> None:
    _always_open()
    _agent()
    chat_page = client.get("/chat/")
    session_id = chat_page["Location"].strip("/").split("/")[-1]
    response = client.post(f"/chat/{session_id}/ask", {"text": "talk to a person"})
    assert response.status_code == 302 and "#message-" in response["Location"]
    handoff = selectors.open_handoff(session_id=session_id)
    assert handoff is not None and handoff.status == Handoff.Status.WAITING
    page = client.get(f"/chat/{session_id}/")
    assert "shortly" in page.content.decode()
    # The reply routes the question; it is not an answer to rate.
    handed = page.content.decode().split('data-state="handed_off"')[1].split("</li>")[0]
    assert 'class="feedback"' not in handed


@pytest.mark.django_db
def test_asking_for_a_person_again_restates_the_open_request_and_opens_no_second(
    client: Any,
) -> None:
    _always_open()  # and no agent online: a follow-up by email or phone
    chat_page = client.get("/chat/")
    session_id = chat_page["Location"].strip("/").split("/")[-1]
    client.post(f"/chat/{session_id}/ask", {"text": "talk to a person"})
    first = selectors.open_handoff(session_id=session_id)
    assert first is not None and first.status == Handoff.Status.FOLLOW_UP
    client.post(f"/chat/{session_id}/ask", {"text": "I want to talk to a person please"})
    answers = Message.objects.filter(session_id=session_id, role=Message.Role.ANSWER)
    assert [answer.state for answer in answers.order_by("pk")] == [
        Message.State.HANDED_OFF,
        Message.State.HANDED_OFF,
    ]
    assert Handoff.objects.filter(session_id=session_id).count() == 1


@pytest.mark.django_db
def test_the_support_agents_group_may_answer_customers_and_write_notes_but_not_approve_them() -> (
    None
):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="Support agents")
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert {"chat.answer_customers", "manuals.add_staffnote", "chat.view_message"} <= granted
    assert "manuals.approve_staffnote" not in granted
    assert not any(code.endswith("_user") or code.endswith("_group") for code in granted)


@pytest.mark.django_db
def test_staff_see_which_follow_ups_have_contact_details_and_can_filter_on_it(
    admin_client: Any,
) -> None:
    left, silent = (ChatSession.objects.create(owner_key=key) for key in ("a", "b"))
    Handoff.objects.create(
        session=left, status=Handoff.Status.FOLLOW_UP, contact="dana@example.com"
    )
    Handoff.objects.create(session=silent, status=Handoff.Status.FOLLOW_UP)
    url = "/admin/chat/handoff/"
    everything = admin_client.get(url).content.decode()
    assert "dana@example.com" in everything and "not left yet" in everything
    waiting = admin_client.get(url, {"contact_left": "no"}).content.decode()
    assert "not left yet" in waiting and "dana@example.com" not in waiting
    reachable = admin_client.get(url, {"contact_left": "yes"}).content.decode()
    assert "dana@example.com" in reachable and "not left yet" not in reachable


@pytest.mark.django_db
def test_a_request_s_admin_page_says_it_is_answered_in_the_console(admin_client: Any) -> None:
    chat = ChatSession.objects.create(owner_key="a")
    open_one = Handoff.objects.create(session=chat, status=Handoff.Status.FOLLOW_UP)
    page = admin_client.get(f"/admin/chat/handoff/{open_one.pk}/change/").content.decode()
    assert '<a href="/support/">Reply or close it in the live support console</a>' in page
    open_one.status = Handoff.Status.RESOLVED
    open_one.save()
    page = admin_client.get(f"/admin/chat/handoff/{open_one.pk}/change/").content.decode()
    assert "Closed: nothing left to do." in page and 'href="/support/">Reply' not in page
