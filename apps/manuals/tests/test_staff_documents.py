"""Staff document tools in the admin: CSV bulk attach, several PDFs at once, the review
queue's actions, and the most-asked products without a ready document."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.manuals.models import DocumentCandidate, DocumentLink, Manual
from apps.manuals.selectors import documents_of, most_asked_without_ready_document
from apps.manuals.tests.conftest import make_pdf
from apps.products.models import Brand, Family, Product
from apps.sessions.models import ChatSession, Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(manual_settings):
    manual_settings.CELERY_ENABLED = False
    return manual_settings


@pytest.fixture
def catalog() -> dict[str, object]:
    brand = Brand.objects.create(slug="boss", name="BOSS")
    family = Family.objects.create(slug="katana-mkii", name="Katana MkII", brand=brand)
    return {
        "katana": Product.objects.create(
            catalog_id="boss-katana-50-mkii", name="Katana-50 MkII", brand=brand, family=family
        ),
        "rc": Product.objects.create(catalog_id="boss-rc-505", name="RC-505", brand=brand),
        "family": family,
    }


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("docs.csv", text.encode(), content_type="text/csv")


def test_a_csv_attaches_its_good_rows_and_reports_each_bad_row_with_its_reason(
    admin_client, catalog
):
    body = (
        "product,family,url,kind,language\n"
        "boss-rc-505,,https://static.boss.info/rc-505_om.pdf,owners_manual,en\n"
        ",katana-mkii,https://static.boss.info/katana_mkii_om_heb.pdf,Owner's manual,עברית\n"
        "boss-rc-999,,https://static.boss.info/rc-999.pdf,owners_manual,en\n"
        "boss-rc-505,,ftp://static.boss.info/x.pdf,owners_manual,en\n"
        "boss-rc-505,,https://static.boss.info/rc-505_pg.pdf,poster,en\n"
        "boss-rc-505,,https://static.boss.info/rc-505_pg.pdf,parameter_guide,klingon\n"
    )
    response = admin_client.post(reverse("admin:manuals_manual_bulk_attach"), {"file": _csv(body)})

    assert response.status_code == 200
    outcome = response.context["outcome"]
    assert len(outcome.attached) == 2
    problems = {p.row: p.reason for p in outcome.problems}
    assert set(problems) == {4, 5, 6, 7}
    assert "no product has the catalog id 'boss-rc-999'" in problems[4]
    assert problems[5].startswith("the address ")
    assert "kind 'poster'" in problems[6]
    assert "language 'klingon'" in problems[7]
    rc = documents_of(product=catalog["rc"])
    assert [(m.source_url, m.document_kind, m.status) for m in rc] == [
        ("https://static.boss.info/rc-505_om.pdf", "owners_manual", Manual.Status.QUEUED)
    ]
    family_doc = DocumentLink.objects.get(family=catalog["family"]).manual
    assert (family_doc.document_kind, family_doc.language) == ("owners_manual", "he")
    assert documents_of(product=catalog["katana"]) == [family_doc]
    assert "docs.csv, row 2" in DocumentLink.objects.get(product=catalog["rc"]).provenance


def test_a_csv_without_its_header_row_is_refused_whole(admin_client, catalog):
    response = admin_client.post(
        reverse("admin:manuals_manual_bulk_attach"),
        {"file": _csv("boss-rc-505,,https://static.boss.info/rc-505_om.pdf,owners_manual,en\n")},
    )
    assert "The first row must name the columns" in response.content.decode()
    assert not Manual.objects.exists()


def test_several_pdfs_uploaded_at_once_become_queued_documents_and_a_non_pdf_is_refused(
    admin_client, catalog
):
    files = [
        SimpleUploadedFile("RC-505 Owner's Manual.pdf", make_pdf(["Loop"]), "application/pdf"),
        SimpleUploadedFile("RC-505 Parameter Guide.pdf", make_pdf(["Tempo"]), "application/pdf"),
        SimpleUploadedFile("notes.txt", b"not a pdf", "text/plain"),
    ]
    response = admin_client.post(
        reverse("admin:manuals_manual_upload"),
        {
            "product": "boss-rc-505",
            "family": "",
            "kind": "parameter_guide",
            "language": "en",
            "files": files,
        },
    )

    documents = documents_of(product=catalog["rc"])
    # A redirect to the new documents' statuses: reloading the page uploads nothing twice.
    assert response.status_code == 302
    ids = ",".join(str(m.pk) for m in sorted(documents, key=lambda m: m.pk))
    assert response["Location"] == f"{reverse('admin:manuals_manual_changelist')}?id__in={ids}"
    page = admin_client.get(response["Location"])
    said = [str(message) for message in page.context["messages"]]
    assert said[0].startswith("2 PDFs uploaded and queued for reading: RC-505 Owner")
    assert said[1] == "notes.txt refused: it is not a PDF"
    assert page.context["cl"].result_count == 2
    assert {m.title for m in documents} == {"RC-505 Owner's Manual", "RC-505 Parameter Guide"}
    assert all(m.uploaded_file and m.status == Manual.Status.QUEUED for m in documents)
    assert all(m.document_kind == "parameter_guide" for m in documents)


def test_an_upload_named_like_a_file_is_titled_by_its_product_and_kind(admin_client, catalog):
    upload = SimpleUploadedFile("rc505-midi_impl.pdf", make_pdf(["CC 7"]), "application/pdf")
    admin_client.post(
        reverse("admin:manuals_manual_upload"),
        {
            "product": "boss-rc-505",
            "family": "",
            "kind": "midi_implementation",
            "language": "en",
            "files": [upload],
        },
    )
    [document] = documents_of(product=catalog["rc"])
    assert document.title == f"{catalog['rc'].name} MIDI implementation"


def test_files_uploaded_without_a_kind_take_the_kind_their_names_say(admin_client, catalog):
    names = ("rc505-midi-implementation.pdf", "rc505_quick_start.pdf", "rc505.pdf")
    admin_client.post(
        reverse("admin:manuals_manual_upload"),
        {
            "product": "boss-rc-505",
            "family": "",
            "kind": "",
            "language": "en",
            "files": [SimpleUploadedFile(n, make_pdf(["CC 7"]), "application/pdf") for n in names],
        },
    )
    documents = sorted(documents_of(product=catalog["rc"]), key=lambda m: m.pk)
    name = catalog["rc"].name
    assert [(m.document_kind, m.title) for m in documents] == [
        ("midi_implementation", f"{name} MIDI implementation"),
        ("quick_start", f"{name} Quick start"),
        ("owners_manual", f"{name} Owner's manual"),
    ]


def test_an_upload_refusing_every_file_stays_on_the_form_and_says_why(admin_client, catalog):
    response = admin_client.post(
        reverse("admin:manuals_manual_upload"),
        {"product": "boss-rc-505", "kind": "other", "language": "en",
         "files": [SimpleUploadedFile("notes.txt", b"not a pdf", "text/plain")]},
    )  # fmt: skip
    assert response.status_code == 200
    assert "0 uploaded, 1 refused" in response.content.decode()
    assert "notes.txt: it is not a PDF" in response.content.decode()
    assert not Manual.objects.exists()


def test_the_upload_form_needs_a_known_product_or_family(admin_client, catalog):
    response = admin_client.post(
        reverse("admin:manuals_manual_upload"),
        {"product": "nope", "kind": "other", "language": "en",
         "files": [SimpleUploadedFile("a.pdf", make_pdf(["x"]))]},
    )  # fmt: skip
    assert "No product has the catalog id or name" in response.content.decode()
    assert not Manual.objects.exists()


def test_the_upload_form_takes_a_product_by_its_name_unless_several_share_it(admin_client, catalog):
    def upload(product: str) -> str:
        response = admin_client.post(
            reverse("admin:manuals_manual_upload"),
            {"product": product, "kind": "other", "language": "en",
             "files": [SimpleUploadedFile("a.pdf", make_pdf(["Hold WRITE to save."]))]},
        )  # fmt: skip
        return response.content.decode()

    Product.objects.create(catalog_id="boss-rc-505-mkii", name="rc-505", brand=catalog["rc"].brand)
    assert "Several products are named &#x27;RC-505&#x27;: boss-rc-505, boss-rc-505-mkii" in (
        upload("RC-505")
    )
    assert not Manual.objects.exists()
    upload("katana-50 mkii")  # the name, in any case
    assert Manual.objects.get().links.get().product == catalog["katana"]


def test_a_product_page_links_to_uploading_a_document_for_it(admin_client, catalog):
    product = catalog["rc"]
    page = admin_client.get(reverse("admin:products_product_change", args=[product.pk]))
    upload = reverse("admin:manuals_manual_upload")
    assert f'<a href="{upload}?product=boss-rc-505">Upload PDFs for this product</a>' in (
        page.content.decode()
    )


def test_most_asked_without_a_ready_document_counts_questions_and_skips_ready_products(
    admin_client, catalog
):
    chat = ChatSession.objects.create(owner_key="k")
    for product, count in ((catalog["rc"], 3), (catalog["katana"], 5)):
        for n in range(count):
            Message.objects.create(session=chat, role="question", text=f"q{n}", product=product)
            Message.objects.create(session=chat, role="answer", text="a", product=product)
    ready = Manual.objects.create(source_url="https://static.boss.info/k.pdf", status="ready")
    DocumentLink.objects.create(manual=ready, family=catalog["family"])

    wanted = most_asked_without_ready_document()

    assert [(p.name, p.questions) for p in wanted] == [("RC-505", 3)]
    page = admin_client.get(reverse("admin:manuals_manual_most_asked")).content.decode()
    assert "RC-505" in page and "Katana-50 MkII" not in page


def test_accepting_a_candidate_in_the_admin_attaches_it_and_rejecting_keeps_it_out(
    admin_client, catalog
):
    keep = DocumentCandidate.objects.create(
        product=catalog["rc"], url="https://static.boss.info/rc.pdf", score=0.5
    )
    drop = DocumentCandidate.objects.create(
        product=catalog["rc"], url="https://static.boss.info/other.pdf", score=0.45
    )
    changelist = reverse("admin:manuals_documentcandidate_changelist")
    admin_client.post(changelist, {"action": "accept", "_selected_action": [keep.pk]})
    admin_client.post(changelist, {"action": "reject", "_selected_action": [drop.pk]})

    assert [m.source_url for m in documents_of(product=catalog["rc"])] == [keep.url]
    drop.refresh_from_db()
    assert (drop.state, drop.decided_by) == (DocumentCandidate.State.REJECTED, "admin")
    assert "rc.pdf" not in admin_client.get(changelist).content.decode()
