"""The content-gaps dashboard: its tables count what they say, clusters group by meaning,
every table exports as CSV, and only staff who read transcripts see it."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.test import Client

from apps.manuals.embeddings import get_embedder
from apps.manuals.tests.demo_data import product_with, ready_manual
from apps.products.models import Brand, Product
from apps.sessions.dashboard import clusters, selectors
from apps.sessions.models import ChatSession, Feedback, Handoff, Message, QuestionVector

pytestmark = pytest.mark.django_db


def _pair(
    chat: ChatSession, product: Product | None, text: str, state: str, **answer: object
) -> Message:
    question = Message.objects.create(session=chat, role="question", text=text, product=product)
    return Message.objects.create(
        session=chat,
        role="answer",
        text="…",
        product=product,
        question=question,
        state=state,
        **answer,
    )


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def test_products_asked_about_without_a_ready_document_are_listed_most_asked_first() -> None:
    brand = Brand.objects.create(slug="q", name="Q")
    bare = Product.objects.create(catalog_id="q-1", name="Q One", brand=brand)
    covered = product_with(ready_manual())
    chat = ChatSession.objects.create(owner_key="k")
    for _ in range(3):
        _pair(chat, bare, "reset?", "no_manual")
    _pair(chat, covered, "split?", "answered")
    rows = selectors.products_without_ready_documents(start=selectors.since(30))
    assert [(row["catalog_id"], row["questions"]) for row in rows] == [("q-1", 3)]


def test_thumbs_down_are_counted_on_the_pages_their_answers_cite() -> None:
    manual = ready_manual()
    product = product_with(manual)
    chat = ChatSession.objects.create(owner_key="k")
    cited = [{"manual_id": manual.pk, "page": 9, "snippet": "s", "url": ""}]
    for rating in (-1, -1, 1):
        answer = _pair(chat, product, "split?", "answered", citations=cited)
        Feedback.objects.create(message=answer, rating=rating)
    _pair(chat, product, "warranty?", "not_in_manual")
    _pair(chat, product, "in stock?", "not_in_manual", engine="catalog")  # not the manual's gap
    pages = selectors.pages_with_thumbs_down(start=selectors.since(30))
    assert [(p["manual_id"], p["page"], p["thumbs_down"]) for p in pages] == [(manual.pk, 9, 2)]
    manuals = selectors.manuals_with_gaps(start=selectors.since(30))
    assert manuals[0]["manual_id"] == manual.pk
    assert (manuals[0]["not_in_manual"], manuals[0]["thumbs_down"]) == (1, 2)


def test_the_handoff_rate_counts_chats_with_a_handoff_among_chats_with_a_question() -> None:
    for n in range(4):
        chat = ChatSession.objects.create(owner_key=f"k{n}")
        _pair(chat, None, "hi", "no_product")
        if n == 0:
            Handoff.objects.create(session=chat, status=Handoff.Status.RESOLVED)
    found = selectors.handoffs(start=selectors.since(30))
    assert (found["chats"], found["handoffs"], found["rate"]) == (4, 1, 0.25)


def test_the_handoff_rate_reads_as_a_share_of_chats(staff: Client) -> None:
    for n in range(4):
        chat = ChatSession.objects.create(owner_key=f"k{n}")
        _pair(chat, None, "hi", "no_product")
        if n == 0:
            Handoff.objects.create(session=chat, status=Handoff.Status.RESOLVED)
    text = " ".join(staff.get("/admin/content-gaps/?days=7").content.decode().split())
    assert "<strong>1</strong> handoff in 4 chats with a question: <strong>25%</strong>" in text


def test_greedy_clustering_groups_close_vectors_apart_from_far_ones() -> None:
    near = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]], dtype=np.float32)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    assert clusters.greedy(near, threshold=0.9) == [[0, 1], [2]]


def test_unanswered_questions_of_one_meaning_cluster_together_once_embedded() -> None:
    chat = ChatSession.objects.create(owner_key="k")
    for text in (
        "what is the warranty in israel",
        "how long is the warranty in israel",
        "warranty period in israel?",
        "where can I buy a power supply cable",
    ):
        _pair(chat, None, text, "not_in_manual")
    start = selectors.since(30)
    assert clusters.cluster_unanswered(start=start).without_vector == 4
    assert clusters.embed_questions(start=start) == 4
    assert clusters.embed_questions(start=start) == 0  # kept, not computed again
    assert QuestionVector.objects.filter(model=get_embedder().name).count() == 4
    found = clusters.cluster_unanswered(start=start)
    assert found.without_vector == 0
    biggest = found.clusters[0]
    assert {text for _pk, text, _s in biggest.questions} >= {
        "what is the warranty in israel",
        "how long is the warranty in israel",
    }
    assert all("power supply" not in text for _pk, text, _s in biggest.questions)


def test_the_dashboard_renders_for_staff_with_every_table_as_csv(staff: Client) -> None:
    chat = ChatSession.objects.create(owner_key="k")
    _pair(chat, None, '=HYPERLINK("evil")', "no_product")
    page = staff.get("/admin/content-gaps/?days=7")
    assert page.status_code == 200
    assert b"Questions per day" in page.content and b"<svg" in page.content
    for table in ("per_day", "products", "manuals", "pages", "handoffs", "clusters"):
        response = staff.get(f"/admin/content-gaps/?export={table}")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        list(csv.reader(io.StringIO(response.content.decode())))
    assert staff.get("/admin/content-gaps/?export=nope").status_code == 400


def test_the_dashboard_is_not_for_customers_or_staff_without_transcripts(client: Client) -> None:
    assert client.get("/admin/content-gaps/").status_code == 302
    client.force_login(User.objects.create_user("ed", password="x", is_staff=True))
    assert client.get("/admin/content-gaps/").status_code == 403


def test_the_dashboard_links_the_live_console_only_for_those_who_may_answer(
    staff: Client,
) -> None:
    assert "Live support console" in staff.get("/admin/content-gaps/").content.decode()
    reader = User.objects.create_user("reader", password="x", is_staff=True)
    reader.user_permissions.set(Permission.objects.filter(codename="view_message"))
    other = Client()
    other.force_login(reader)
    page = other.get("/admin/content-gaps/")
    assert page.status_code == 200 and "/support/" not in page.content.decode()


def test_a_question_cannot_become_a_spreadsheet_formula_in_the_csv(staff: Client) -> None:
    chat = ChatSession.objects.create(owner_key="k")
    _pair(chat, None, "=cmd|' /C calc'!A0", "no_product")
    clusters.embed_questions(start=selectors.since(30))
    _pair(chat, None, "=cmd|' /C calc'!A0 again", "no_product")
    clusters.embed_questions(start=selectors.since(30))
    rows = list(
        csv.reader(io.StringIO(staff.get("/admin/content-gaps/?export=clusters").content.decode()))
    )
    assert all(not row[4].startswith("=") for row in rows[1:])


def test_the_hourly_job_that_embeds_unanswered_questions_is_scheduled_and_runs() -> None:
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django_celery_beat.models import PeriodicTask

    from apps.sessions.tasks import embed_unanswered_questions
    from hscjit.celery import app

    state = MigrationExecutor(connection).loader.project_state(("chat", "0007_embed_questions_job"))
    importlib.import_module("apps.sessions.migrations.0007_embed_questions_job").create_job(
        state.apps, None
    )
    job = PeriodicTask.objects.get(name="embed_unanswered_questions")
    assert job.enabled and job.task in app.tasks and job.crontab.minute == "15"
    chat = ChatSession.objects.create(owner_key="k")
    _pair(chat, None, "is there a carrying case", "no_product")
    # A run of the suite in the last hour claimed this job's window in the shared Redis.
    cache.delete("schedule-run:embed_unanswered_questions")
    assert embed_unanswered_questions.apply().get() == 1
