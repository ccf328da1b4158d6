"""The staff console socket and page: who gets in, claims, replies reaching the customer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from apps.manuals.models import StaffNote
from apps.manuals.tests.demo_data import product_with, ready_manual
from apps.sessions.models import ChatSession, Handoff, Message, OpeningHours
from apps.sessions.tests.sockets import (
    HOST,
    ORIGIN,
    application,
    communicator,
    make_chat,
    receive_type,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _always_open() -> None:
    OpeningHours.objects.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(weekday=day, opens=dt.time(0), closes=dt.time(23, 59, 59)) for day in range(7)
    )


def _login(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _agents_group() -> Group:
    """The group the data migration made (a transactional test's flush removes it)."""
    group, _ = Group.objects.get_or_create(name="Support agents")
    group.permissions.add(Permission.objects.get(codename="answer_customers"))
    return group


def _agent(name: str) -> tuple[User, str]:
    user = User.objects.create_user(name, password="x", is_staff=True, first_name=name.title())
    user.groups.add(_agents_group())
    return user, _login(user)


def _console(cookie: str | None) -> WebsocketCommunicator:
    headers = [HOST, ORIGIN]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application(), "/ws/support/", headers=headers)


async def _claim_outcome(comm: WebsocketCommunicator) -> dict[str, Any]:
    while True:
        message = await comm.receive_json_from(timeout=10)
        if message["type"] in {"claimed", "error"}:
            return message


async def _closed_with(comm: WebsocketCommunicator) -> int | None:
    await comm.connect()
    output = await comm.receive_output(timeout=5)
    if output["type"] == "websocket.send":
        output = await comm.receive_output(timeout=5)
    return output.get("code")


async def test_a_customer_or_a_staff_member_who_is_not_an_agent_cannot_open_the_console() -> None:
    _chat, customer_cookie = await make_chat()
    assert await _closed_with(_console(customer_cookie)) == 4403
    assert await _closed_with(_console(None)) == 4403
    editor = await database_sync_to_async(
        lambda: User.objects.create_user("ed", password="x", is_staff=True)
    )()
    assert await _closed_with(_console(await database_sync_to_async(_login)(editor))) == 4403


def test_the_console_page_is_for_agents_only(client: Client) -> None:
    response = client.get("/support/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(User.objects.create_user("ed", password="x", is_staff=True))
    refused = client.get("/support/")
    assert refused.status_code == 403 and b"Support agents</strong> group" in refused.content
    agent = User.objects.create_user("ag", password="x", is_staff=True)
    agent.groups.add(_agents_group())
    client.force_login(agent)
    page = client.get("/support/")
    assert page.status_code == 200 and b"console.js" in page.content
    assert b"<script>" not in page.content and b' style="' not in page.content


async def test_an_agent_cannot_read_a_conversation_through_the_customer_socket() -> None:
    """The chat socket of one customer is refused with another customer's session."""
    chat, _owner = await make_chat()
    _other_chat, stranger = await make_chat()
    comm = communicator(chat.pk, stranger)
    await comm.connect()
    closed = await comm.receive_output(timeout=5)
    assert closed.get("code") == 4403


async def test_claims_race_to_one_winner_and_the_reply_reaches_the_customer_live() -> None:
    await database_sync_to_async(_always_open)()
    (_dana, dana_cookie), (_omer, omer_cookie) = [
        await database_sync_to_async(_agent)(name) for name in ("dana", "omer")
    ]
    first, second = _console(dana_cookie), _console(omer_cookie)
    assert (await first.connect())[0] and (await second.connect())[0]
    hello = await receive_type(first, "hello")
    assert hello["queue"] == []
    await receive_type(second, "hello")

    chat, key = await make_chat()
    customer = communicator(chat.pk, key)
    assert (await customer.connect())[0]
    try:
        await customer.send_json_to({"type": "handoff_request", "ref": "h"})
        assert (await receive_type(customer, "handoff_state"))["state"] == "waiting"
        # The new conversation appears on both consoles without a reload.
        item = (await receive_type(first, "queue_item"))["item"]
        assert (await receive_type(second, "queue_item"))["item"]["id"] == item["id"]
        assert item["status"] == "waiting" and item["session_id"] == str(chat.pk)

        await first.send_json_to({"type": "claim", "ref": "a", "handoff_id": item["id"]})
        await second.send_json_to({"type": "claim", "ref": "b", "handoff_id": item["id"]})
        outcomes = [await _claim_outcome(c) for c in (first, second)]
        assert sorted(o["type"] for o in outcomes) == ["claimed", "error"], outcomes
        assert next(o for o in outcomes if o["type"] == "error")["code"] == "conflict"
        winner, loser = (first, second) if outcomes[0]["type"] == "claimed" else (second, first)
        name = "Dana" if winner is first else "Omer"
        claimed = await receive_type(loser, "queue_item")
        assert claimed["item"]["agent"]["name"] == name
        assert (await receive_type(customer, "handoff_state"))["state"] == "active"

        await winner.send_json_to({"type": "open", "ref": "o", "handoff_id": item["id"]})
        conversation = await receive_type(winner, "conversation")
        assert conversation["handoff"]["id"] == item["id"]
        await winner.send_json_to({"type": "typing", "handoff_id": item["id"], "typing": True})
        assert (await receive_type(customer, "agent_typing"))["agent"] == name
        await winner.send_json_to(
            {
                "type": "reply",
                "ref": "r",
                "handoff_id": item["id"],
                "text": "Hi!",
                "client_key": "k",
            }
        )
        saved = await receive_type(winner, "reply_saved")
        live = await receive_type(customer, "agent_message")
        assert live["id"] == saved["message"]["id"] and live["text"] == "Hi!"
        # The other agent has not claimed it: they may not reply.
        await loser.send_json_to(
            {"type": "reply", "ref": "r2", "handoff_id": item["id"], "text": "x", "client_key": "q"}
        )
        assert (await receive_type(loser, "error"))["code"] == "conflict"

        # The customer's next question goes to the agent's console, not to the manual.
        await customer.send_json_to({"type": "ask", "ref": "q", "text": "Is it under warranty?"})
        pushed = await receive_type(winner, "messages")
        while pushed["messages"][0]["role"] == "agent":  # the echo of the agent's own reply first
            pushed = await receive_type(winner, "messages")
        assert pushed["messages"][0]["text"] == "Is it under warranty?"

        await winner.send_json_to({"type": "release", "ref": "x", "handoff_id": item["id"]})
        await receive_type(winner, "released")
        assert (await receive_type(customer, "handoff_state"))["state"] == "returned"
    finally:
        for comm in (first, second, customer):
            await comm.disconnect()
    rows = await database_sync_to_async(
        lambda: list(
            Message.objects.filter(session=chat, role="agent").values_list("text", flat=True)
        )
    )()
    assert rows == ["Hi!"]


async def test_an_agent_hands_a_chat_back_to_the_queue_where_another_agent_takes_it() -> None:
    await database_sync_to_async(_always_open)()
    (_dana, dana_cookie), (_omer, omer_cookie) = [
        await database_sync_to_async(_agent)(name) for name in ("dana", "omer")
    ]
    dana, omer = _console(dana_cookie), _console(omer_cookie)
    assert (await dana.connect())[0] and (await omer.connect())[0]
    await receive_type(dana, "hello")
    await receive_type(omer, "hello")
    chat, key = await make_chat()
    customer = communicator(chat.pk, key)
    assert (await customer.connect())[0]
    try:
        await customer.send_json_to({"type": "handoff_request", "ref": "h"})
        handoff_id = (await receive_type(customer, "handoff_state"))["handoff_id"]
        await dana.send_json_to({"type": "claim", "ref": "c", "handoff_id": handoff_id})
        assert (await _claim_outcome(dana))["type"] == "claimed"
        assert (await receive_type(customer, "handoff_state"))["state"] == "active"

        await dana.send_json_to({"type": "requeue", "ref": "q", "handoff_id": handoff_id})
        assert (await receive_type(dana, "requeued"))["handoff_id"] == handoff_id
        state = await receive_type(customer, "handoff_state")
        assert (state["state"], state["agent"], state["position"]) == ("waiting", None, 1)
        item = (await receive_type(omer, "queue_item"))["item"]
        while item["status"] != "waiting":  # the claim's push comes first
            item = (await receive_type(omer, "queue_item"))["item"]
        assert item["agent"] is None and item["claimed_at"] is None

        # Dana no longer has it; Omer may take it.
        await dana.send_json_to(
            {"type": "reply", "ref": "r", "handoff_id": handoff_id, "text": "x", "client_key": "k"}
        )
        assert (await receive_type(dana, "error"))["code"] == "conflict"
        await omer.send_json_to({"type": "claim", "ref": "c", "handoff_id": handoff_id})
        assert (await _claim_outcome(omer))["type"] == "claimed"
        assert (await receive_type(customer, "handoff_state"))["agent"]["name"] == "Omer"
    finally:
        for comm in (dana, omer, customer):
            await comm.disconnect()


async def test_an_agent_saves_a_reply_as_a_note_waiting_for_review() -> None:
    await database_sync_to_async(_always_open)()
    agent, cookie = await database_sync_to_async(_agent)("dana")

    @database_sync_to_async
    def handoff_about_a_product() -> Handoff:
        product = product_with(ready_manual())
        chat = ChatSession.objects.create(
            owner_key=SessionStore().session_key or "k", product=product
        )
        return Handoff.objects.create(
            session=chat, status=Handoff.Status.ACTIVE, agent=agent, product=product
        )

    handoff = await handoff_about_a_product()
    console = _console(cookie)
    assert (await console.connect())[0]
    try:
        await receive_type(console, "hello")
        await console.send_json_to(
            {
                "type": "save_note",
                "ref": "n",
                "handoff_id": handoff.pk,
                "text": "Warranty in Israel: two years at our service centre.",
                "language": "en",
            }
        )
        saved = await receive_type(console, "note_saved")
        await console.send_json_to(
            {
                "type": "save_note",
                "ref": "n2",
                "handoff_id": handoff.pk,
                "text": "x",
                "scope": "family",
            }
        )
        refused = await receive_type(console, "error")
        assert refused["code"] == "invalid" and "family" in refused["message"]
    finally:
        await console.disconnect()
    note = await database_sync_to_async(StaffNote.objects.get)(pk=saved["note_id"])
    assert note.status == StaffNote.Status.PENDING and note.product_id == handoff.product_id


async def test_fifty_waiting_customers_reach_the_console_snapshot_in_order() -> None:
    await database_sync_to_async(_always_open)()
    _agent_user, cookie = await database_sync_to_async(_agent)("dana")

    @database_sync_to_async
    def waiting(count: int) -> list[int]:
        ids = []
        for n in range(count):
            chat = ChatSession.objects.create(owner_key=f"k{n}")
            ids.append(Handoff.objects.create(session=chat, status=Handoff.Status.WAITING).pk)
        return ids

    ids = await waiting(50)
    console = _console(cookie)
    assert (await console.connect())[0]
    try:
        hello = await receive_type(console, "hello")
    finally:
        await console.disconnect()
    assert [item["id"] for item in hello["queue"]] == ids
