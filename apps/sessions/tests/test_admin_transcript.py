from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from apps.sessions.models import ChatSession, Feedback, Message
from apps.sessions.tests.page_data import (
    HOSTILE_NAME,
    HOSTILE_QUESTION,
    add_exchange,
    conversation,
    make_product,
    start_chat,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/chat/chatsession/"


@pytest.fixture
def staff() -> Client:
    """A staff member who may view chats and nothing more, as the catalog editors can."""
    user = User.objects.create_user("editor", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="chat",
            codename__in=["view_chatsession", "view_message", "view_feedback"],
        )
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_session_shows_its_transcript_with_states_citations_engine_timings_and_feedback(
    client: Client, staff: Client
):
    chat = conversation(client)
    Feedback.objects.create(message=chat.answer, rating=-1, comment="Too short")
    html = staff.get(f"{CHANGELIST}{chat.session.pk}/change/").content.decode()
    assert "How do I split the keyboard?" in html
    assert "Hold SPLIT and press the key where the upper part should begin. [p. 12]" in html
    assert "Answered · extractive" in html
    assert "first text 41 ms, total 190 ms" in html
    assert f'href="/manuals/{chat.manual.pk}/document#page=12"' in html
    # Each line of a message takes its own direction: a Hebrew answer's framing reads right
    # to left and the English passage it quotes left to right.
    assert "Thumbs down: “<bdi>Too short</bdi>”" in html
    assert '<div dir="auto"><strong>How do I split the keyboard?</strong></div>' in html
    assert "Lumenvale LX-88 Stage Piano" in html  # the product in focus and per message
    assert chat.session.owner_key not in html


def test_the_transcript_is_read_only(client: Client, staff: Client):
    chat = conversation(client)
    page = staff.get(f"{CHANGELIST}{chat.session.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert staff.get(f"{CHANGELIST}add/").status_code == 403
    response = staff.post(f"{CHANGELIST}{chat.session.pk}/change/", {"product": ""})
    assert response.status_code == 403
    assert ChatSession.objects.get(pk=chat.session.pk).product_id == chat.product.pk


def test_hostile_text_is_escaped_in_the_admin(client: Client, staff: Client):
    chat = conversation(client, product_name=HOSTILE_NAME)
    add_exchange(
        session=chat.session,
        product=chat.product,
        question=HOSTILE_QUESTION,
        answer="<script>alert(3)</script>",
        rating=1,
        comment="<img src=y onerror=alert(4)>",
    )
    for url in (
        f"{CHANGELIST}{chat.session.pk}/change/",
        CHANGELIST,
        "/admin/chat/message/",
        "/admin/chat/feedback/",
    ):
        html = staff.get(url).content.decode()
        assert "<img src=x" not in html and "<img src=y" not in html, url
        assert "<script>alert" not in html, url
    transcript = staff.get(f"{CHANGELIST}{chat.session.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(&#x27;q&#x27;)&lt;/script&gt;" in transcript


def _listed(staff: Client, query: str) -> set[str]:
    response = staff.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    return {str(session.pk) for session in response.context["cl"].result_list}


def test_sessions_filter_by_answer_state_rating_product_and_date(client: Client, staff: Client):
    answered = conversation(client)
    add_exchange(
        session=answered.session,
        product=answered.product,
        question="Again?",
        answer="Yes. [p. 12]",
        rating=1,
    )
    other = Client()
    unanswered = start_chat(other)
    piano = make_product(name="Lumenvale LP-4 Looper")
    add_exchange(
        session=unanswered,
        product=piano,
        question="Opening hours?",
        answer="Not in the manual.",
        state=Message.State.NOT_IN_MANUAL,
        rating=-1,
    )
    first, second = str(answered.session.pk), str(unanswered.pk)

    assert _listed(staff, "state=answered") == {first}
    assert _listed(staff, "state=not_in_manual") == {second}
    assert _listed(staff, "rating=1") == {first}
    assert _listed(staff, "rating=-1") == {second}
    assert _listed(staff, f"product={piano.pk}") == {second}
    assert _listed(staff, f"product={answered.product.pk}") == {first}
    today = answered.session.created_at.date()
    assert _listed(staff, f"created_at__gte={today.isoformat()}") == {first, second}
    assert _listed(staff, "created_at__lt=2000-01-01") == set()


def test_the_list_counts_questions_and_thumbs(client: Client, staff: Client):
    chat = conversation(client)
    add_exchange(
        session=chat.session, product=chat.product, question="More?", answer="Yes [p. 1]", rating=1
    )
    response = staff.get(CHANGELIST)
    row = response.context["cl"].result_list[0]
    assert (row.question_count, row.up_count, row.down_count) == (2, 1, 0)


def test_the_list_names_every_product_a_conversation_asked_about(client: Client, staff: Client):
    chat = conversation(client)
    looper = make_product(name="Lumenvale LP-4 Looper")
    add_exchange(session=chat.session, product=looper, question="Loop?", answer="Yes [p. 2]")
    add_exchange(session=chat.session, product=looper, question="Undo?", answer="Yes [p. 3]")
    response = staff.get(CHANGELIST)
    row = response.context["cl"].result_list[0]
    names = ", ".join(sorted([chat.product.name, looper.name]))  # each once
    assert row.asked_about == names
    assert f'<td class="field-products">{names}</td>' in response.content.decode()


def test_each_line_of_a_hebrew_answer_quoting_english_takes_its_own_direction(
    client: Client, staff: Client
):
    chat = conversation(client)
    add_exchange(
        session=chat.session,
        product=chat.product,
        question="איך מפצלים את המקלדת?",
        answer="לפי המדריך:\nHold SPLIT and press the key. [עמ' 12]\n\nמקור: LX-88",  # noqa: RUF001
    )
    html = staff.get(f"{CHANGELIST}{chat.session.pk}/change/").content.decode()
    assert '<div dir="auto">לפי המדריך:</div>' in html
    assert '<div dir="auto">Hold SPLIT and press the key. [עמ&#x27; 12]</div>' in html
    assert '<div dir="auto"><br></div><div dir="auto">מקור: LX-88</div>' in html


def test_a_conversation_is_found_by_the_id_the_list_shows_or_the_contact_left(
    client: Client, staff: Client
):
    from apps.sessions.models import Handoff

    chat = conversation(client)
    other = conversation(client, product_name="Lumenvale LP-4 Looper")
    Handoff.objects.create(
        session=chat.session,
        status=Handoff.Status.FOLLOW_UP,
        live=False,
        contact="dana@example.com",
        contact_kind="email",
    )
    shown = str(chat.session.pk)[:8]
    assert _listed(staff, f"q={shown}") == {str(chat.session.pk)}
    assert _listed(staff, "q=dana@example.com") == {str(chat.session.pk)}
    assert str(other.session.pk) in _listed(staff, "q=Looper")
    # The list opens each row with its first question and says the chat's language.
    response = staff.get(CHANGELIST)
    page = response.content.decode()
    assert '<td class="field-first_question">How do I split the keyboard?</td>' in page
    assert '<td class="field-lang">EN</td>' in page


def test_a_conversation_shows_its_requests_for_a_person_with_the_contact_left(
    client: Client, staff: Client
):
    from apps.sessions.models import Handoff

    chat = conversation(client)
    page = staff.get(f"{CHANGELIST}{chat.session.pk}/change/").content.decode()
    assert "Requests for a person" in page and ">none<" in page.replace("\n", "")
    handoff = Handoff.objects.create(
        session=chat.session,
        status=Handoff.Status.FOLLOW_UP,
        live=False,
        contact="dana@example.com",
        contact_kind="email",
    )
    page = staff.get(f"{CHANGELIST}{chat.session.pk}/change/").content.decode()
    assert f"/admin/chat/handoff/{handoff.pk}/change/" in page and "dana@example.com" in page
