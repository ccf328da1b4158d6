"""Document discovery against loopback vendor sites in the shapes real ones have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.devtools.evaluation.discovery import evaluate
from apps.devtools.evaluation.vendor_sites import Model, VendorSites
from apps.manuals.discovery.links import is_link_page, parse_page
from apps.manuals.models import (
    DiscoverySource,
    DiscoveryTarget,
    DocumentCandidate,
    DocumentLink,
    Manual,
)
from apps.manuals.selectors import documents_of
from apps.manuals.services import import_catalog, ingest_manual
from apps.manuals.services.discovery import (
    NOT_A_MANUAL,
    accept_candidate,
    reject_candidate,
    run_discovery,
    why_no_documents,
)
from apps.products.models import Brand, Product

pytestmark = pytest.mark.django_db

K = Manual.DocumentKind


def _page(body: str, title: str = "Support") -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title></head>'
        f"<body>{body}</body></html>"
    ).encode()


def _pdf(name: str) -> bytes:
    return b"%PDF-1.5\n% " + name.encode() + b"\n" * 64


def _product(name: str, catalog_id: str, brand: str = "roland") -> Product:
    brand_row, _ = Brand.objects.get_or_create(slug=brand, defaults={"name": brand.title()})
    return Product.objects.create(catalog_id=catalog_id, name=name, brand=brand_row)


def _look_for(url: str, *products: Product) -> DiscoverySource:
    source, _ = DiscoverySource.objects.get_or_create(url=url)
    for product in products:
        DiscoveryTarget.objects.create(source=source, product=product)
    return source


def _attached(product: Product) -> dict[str, tuple[str, str]]:
    return {m.source_url: (m.document_kind, m.language) for m in documents_of(product=product)}


def test_an_index_row_per_model_attaches_each_document_in_english_and_hebrew_with_its_kind(
    vendor, manual_settings
):
    for name in ("fp-e50_om_eng.pdf", "fp-e50_om_heb.pdf", "fp-e50_om_ger.pdf", "fp-e30.pdf"):
        vendor.add(f"/files/{name}", body=_pdf(name))
    vendor.add("/files/fp-e50_midi.pdf", body=_pdf("midi"))
    vendor.add("/dl/8812", status=302, headers={"Location": "/files/fp-e50_midi.pdf"})
    index = vendor.add(
        "/support/owners_manuals/",
        body=_page(
            "<h1>Owner's Manuals</h1><table>"
            "<tr><td>FP-E50</td><td><ul>"
            '<li><a href="/files/fp-e50_om_eng.pdf">Owner\'s Manual</a> English</li>'
            '<li><a href="/files/fp-e50_om_heb.pdf">מדריך למשתמש</a> עברית</li>'
            '<li><a href="/files/fp-e50_om_ger.pdf">Bedienungsanleitung</a> Deutsch</li>'
            '<li><a href="/dl/8812">MIDI Implementation (PDF)</a></li>'
            "</ul></td></tr>"
            '<tr><td>FP-E30</td><td><a href="/files/fp-e30.pdf">Owner\'s Manual</a></td></tr>'
            "</table>"
        ),
    )
    fp_e50 = _product("FP-E50", "roland-fp-e50")
    source = _look_for(index, fp_e50)

    run_discovery(source_id=source.pk)

    assert _attached(fp_e50) == {
        vendor.url("/files/fp-e50_om_eng.pdf"): (K.OWNERS_MANUAL, "en"),
        vendor.url("/files/fp-e50_om_heb.pdf"): (K.OWNERS_MANUAL, "he"),
        vendor.url("/dl/8812"): (K.MIDI_IMPLEMENTATION, "en"),
    }
    link = DocumentLink.objects.get(manual__source_url=vendor.url("/files/fp-e50_om_heb.pdf"))
    assert link.origin == DocumentLink.Origin.DISCOVERY
    assert index in link.provenance and "מדריך למשתמש" in link.provenance
    assert DiscoveryTarget.objects.get(product=fp_e50).state == DiscoveryTarget.State.FOUND


def test_a_product_page_downloads_tab_is_read_and_a_firmware_link_is_not_a_document(
    vendor, manual_settings
):
    vendor.add("/files/a.pdf", body=_pdf("a"))
    vendor.add("/files/b.pdf", body=_pdf("b"))
    vendor.add("/files/fw.zip", body=b"PK\x03\x04")
    page = vendor.add(
        "/products/rc-505mkii/",
        body=_page(
            "<h1>RC-505mkII</h1><nav><a href='#downloads'>Downloads</a></nav>"
            "<section id='downloads'><h2>Downloads</h2><ul>"
            "<li><a href='/files/a.pdf'>Owner's Manual</a></li>"
            "<li><a href='/files/b.pdf'>Parameter Guide</a></li>"
            "<li><a href='/files/fw.zip'>System Program (Ver.1.10)</a></li></ul></section>",
            title="RC-505mkII | BOSS",
        ),
    )
    product = _product("RC-505mkII Loop Station", "boss-rc-505mkii", brand="boss")
    run_discovery(source_id=_look_for(page, product).pk)

    assert _attached(product) == {
        vendor.url("/files/a.pdf"): (K.OWNERS_MANUAL, "en"),
        vendor.url("/files/b.pdf"): (K.PARAMETER_GUIDE, "en"),
    }


def test_a_look_alike_model_in_the_index_is_never_attached_automatically(vendor, manual_settings):
    vendor.add("/files/rc-505mkii_om.pdf", body=_pdf("mk2"))
    index = vendor.add(
        "/support/",
        body=_page(
            "<ul><li>RC-505MKII <a href='/files/rc-505mkii_om.pdf'>Owner's Manual</a></li></ul>"
        ),
    )
    rc_505 = _product("RC-505", "boss-rc-505", brand="boss")
    run_discovery(source_id=_look_for(index, rc_505).pk)

    assert documents_of(product=rc_505) == []
    target = DiscoveryTarget.objects.get(product=rc_505)
    assert target.state == DiscoveryTarget.State.NOTHING
    assert "lists no document for RC-505" in target.reason


def test_an_index_linking_only_to_another_models_manual_leaves_the_product_missing_with_a_reason(
    vendor, manual_settings
):
    vendor.add("/files/gp-6.pdf", body=_pdf("gp6"))
    index = vendor.add(
        "/support/",
        body=_page("<table><tr><td>GP-6</td><td><a href='/files/gp-6.pdf'>Manual</a></td></tr>"),
    )
    gp_3 = _product("GP-3 Digital Piano", "roland-gp-3")
    run_discovery(source_id=_look_for(index, gp_3).pk)

    assert documents_of(product=gp_3) == []
    assert why_no_documents(product=gp_3) == (
        f"The vendor's page on 127.0.0.1:{vendor.port} lists no document for GP-3 Digital Piano"
    )


def test_a_page_with_no_links_leaves_the_product_missing_and_says_so(vendor, manual_settings):
    index = vendor.add("/support/", body=_page("<p>Coming soon.</p>"))
    product = _product("Nord Stage 4", "nord-nord-stage-4", brand="nord")
    run_discovery(source_id=_look_for(index, product).pk)

    target = DiscoveryTarget.objects.get(product=product)
    assert target.state == DiscoveryTarget.State.NOTHING
    assert DiscoverySource.objects.get().status == DiscoverySource.Status.DONE
    assert not Manual.objects.exists()


def test_a_link_to_a_private_address_is_never_fetched_nor_attached(vendor, manual_settings):
    manual_settings.MANUAL_FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{vendor.port}"]
    index = vendor.add(
        "/support/",
        body=_page(
            "<ul><li>FP-E50 <a href='http://10.0.0.5/fp-e50_om.pdf'>Owner's Manual</a></li>"
            "<li>FP-E50 <a href='http://169.254.169.254/latest/fp-e50.pdf'>Quick Start</a>"
            "</li></ul>"
        ),
    )
    product = _product("FP-E50", "roland-fp-e50")
    report = run_discovery(source_id=_look_for(index, product).pk)

    assert documents_of(product=product) == []
    assert not DocumentCandidate.objects.exists()
    dropped = report.outcomes[product.pk].dropped
    assert len(dropped) == 2 and all("private or local network" in d for d in dropped)


def test_a_huge_linked_file_is_looked_at_by_its_first_bytes_and_fails_alone_at_ingest(
    vendor, manual_settings, pdf_factory
):
    manual_settings.MANUAL_MAX_BYTES = 64 * 1024
    vendor.add("/files/om.pdf", body=pdf_factory(["Press POWER to turn it on."]))
    vendor.add("/files/ref.pdf", body=b"%PDF-1.5\n" + b"0" * (2 * 1024 * 1024))
    index = vendor.add(
        "/support/",
        body=_page(
            "<ul><li>FP-E50 <a href='/files/om.pdf'>Owner's Manual</a></li>"
            "<li>FP-E50 <a href='/files/ref.pdf'>Reference Manual</a></li></ul>"
        ),
    )
    product = _product("FP-E50", "roland-fp-e50")
    run_discovery(source_id=_look_for(index, product).pk)
    documents = {m.document_kind: m for m in documents_of(product=product)}
    assert set(documents) == {K.OWNERS_MANUAL, K.REFERENCE}

    ingest_manual(manual_id=documents[K.OWNERS_MANUAL].pk)
    ingest_manual(manual_id=documents[K.REFERENCE].pk)

    statuses = {m.document_kind: (m.status, m.error) for m in documents_of(product=product)}
    assert statuses[K.OWNERS_MANUAL] == (Manual.Status.READY, "")
    assert statuses[K.REFERENCE][0] == Manual.Status.FAILED
    assert "larger than" in statuses[K.REFERENCE][1]


def test_a_discovery_page_larger_than_the_page_limit_fails_with_a_reason(vendor, manual_settings):
    manual_settings.DISCOVERY_PAGE_MAX_BYTES = 4096
    index = vendor.add("/support/", body=_page("<p>" + "x" * 20_000 + "</p>"))
    product = _product("FP-E50", "roland-fp-e50")
    run_discovery(source_id=_look_for(index, product).pk)

    source = DiscoverySource.objects.get()
    assert source.status == DiscoverySource.Status.FAILED
    assert "larger than" in source.error
    target = DiscoveryTarget.objects.get(product=product)
    assert target.state == DiscoveryTarget.State.FAILED
    assert target.reason.startswith("Its documents could not be looked for")


def test_a_shared_index_is_fetched_once_per_run_and_matched_per_product(vendor, manual_settings):
    for slug in ("fp-e50", "fp-e30", "gp-3"):
        vendor.add(f"/files/{slug}_om.pdf", body=_pdf(slug))
    rows = "".join(
        f"<tr><td>{name}</td><td><a href='/files/{slug}_om.pdf'>Owner's Manual</a></td></tr>"
        for name, slug in (("FP-E50", "fp-e50"), ("FP-E30", "fp-e30"), ("GP-3", "gp-3"))
    )
    index = vendor.add("/support/", body=_page(f"<table>{rows}</table>"))
    products = [
        _product("FP-E50", "roland-fp-e50"),
        _product("FP-E30", "roland-fp-e30"),
        _product("GP-3 Digital Piano", "roland-gp-3"),
    ]
    run_discovery(source_id=_look_for(index, *products).pk)

    assert vendor.hits["/support/"] == 1
    for product, slug in zip(products, ("fp-e50", "fp-e30", "gp-3"), strict=True):
        assert list(_attached(product)) == [vendor.url(f"/files/{slug}_om.pdf")]


def test_an_unsure_match_waits_for_review_and_accepting_it_attaches_the_document(
    vendor, manual_settings
):
    vendor.add("/files/gs-1.pdf", body=_pdf("gs1"))
    index = vendor.add(
        "/support/", body=_page("<ul><li>GS-1 <a href='/files/gs-1.pdf'>Owner's Manual</a></li>")
    )
    product = _product("EURUS GS-1Electronic Guitar", "boss-eurus_gs-1", brand="boss")
    run_discovery(source_id=_look_for(index, product).pk)

    assert documents_of(product=product) == []
    candidate = DocumentCandidate.objects.get(product=product)
    assert candidate.state == DocumentCandidate.State.PENDING
    assert 0.4 <= candidate.score < 0.8
    assert candidate.document_kind == K.OWNERS_MANUAL
    assert DiscoveryTarget.objects.get(product=product).state == DiscoveryTarget.State.REVIEW
    assert "waiting for a check by our staff" in why_no_documents(product=product)

    accept_candidate(candidate=candidate, user="dana")

    assert list(_attached(product)) == [vendor.url("/files/gs-1.pdf")]
    assert "accepted by dana" in DocumentLink.objects.get(product=product).provenance
    assert DiscoveryTarget.objects.get(product=product).state == DiscoveryTarget.State.FOUND


def test_a_rejected_candidate_is_not_offered_or_attached_again(vendor, manual_settings):
    vendor.add("/files/gs-1.pdf", body=_pdf("gs1"))
    index = vendor.add(
        "/support/", body=_page("<ul><li>GS-1 <a href='/files/gs-1.pdf'>Owner's Manual</a></li>")
    )
    product = _product("EURUS GS-1Electronic Guitar", "boss-eurus_gs-1", brand="boss")
    source = _look_for(index, product)
    run_discovery(source_id=source.pk)
    reject_candidate(candidate=DocumentCandidate.objects.get(), user="dana")

    run_discovery(source_id=source.pk)

    assert DocumentCandidate.objects.get().state == DocumentCandidate.State.REJECTED
    assert documents_of(product=product) == []


def test_a_fetched_manual_that_is_an_index_page_becomes_a_discovery_source(vendor, manual_settings):
    vendor.add("/files/stage4_en.pdf", body=_pdf("stage4"))
    index = vendor.add(
        "/downloads/",
        body=_page(
            "<h2>Nord Stage 4</h2><ul><li><a href='/files/stage4_en.pdf'>English User Manual"
            "</a></li></ul>"
        ),
    )
    product = _product("Nord Stage 4", "nord-nord-stage-4", brand="nord")
    manual = Manual.objects.create(source_url=index, kind=Manual.Kind.HTML)
    DocumentLink.objects.create(manual=manual, product=product, origin="catalog")

    ingest_manual(manual_id=manual.pk)

    manual.refresh_from_db()
    assert (manual.status, manual.error) == (Manual.Status.FAILED, NOT_A_MANUAL)
    assert documents_of(product=product) == []
    source = DiscoverySource.objects.get(url=index)
    run_discovery(source_id=source.pk)
    assert list(_attached(product)) == [vendor.url("/files/stage4_en.pdf")]


def test_an_html_manual_with_a_link_to_its_pdf_is_still_a_manual():
    text = "<p>" + "Press the button to start recording. " * 300 + "</p>"
    page = parse_page(_page(text + "<a href='/m.pdf'>PDF version</a>"), url="http://v.test/m")
    assert not is_link_page(page)


def test_the_importer_makes_an_html_scrape_url_a_discovery_source_not_a_manual(
    tmp_path: Path,
):
    url = "https://www.roland.com/global/support/owners_manuals/"
    record = {
        "id": "roland-fp-e50",
        "name": "FP-E50",
        "brand": "acme",
        "documentation": {"type": "html_scrape", "url": url},
    }
    path = tmp_path / "acme_catalog.json"
    path.write_text(
        json.dumps({"brand_identity": {"id": "acme", "name": "Acme"}, "products": [record]})
    )
    import_catalog([str(path)])
    import_catalog([str(path)])

    product = Product.objects.get(catalog_id="roland-fp-e50")
    assert not Manual.objects.filter(source_url=url).exists()
    assert documents_of(product=product) == []
    target = DiscoveryTarget.objects.get(product=product)
    assert (target.source.url, target.state) == (url, DiscoveryTarget.State.PENDING)


def test_a_reimport_unlinks_an_index_page_an_earlier_import_linked_as_a_manual(tmp_path: Path):
    url = "https://www.boss.info/us/support/owners_manuals/"
    brand = Brand.objects.create(slug="acme", name="Acme")
    product = Product.objects.create(catalog_id="boss-gx-1", name="GX-1", brand=brand)
    legacy = Manual.objects.create(source_url=url, kind=Manual.Kind.HTML)
    DocumentLink.objects.create(manual=legacy, product=product, origin="catalog")
    record = {
        "id": "boss-gx-1",
        "name": "GX-1",
        "brand": "acme",
        "documentation": {"type": "html_scrape", "url": url},
    }
    path = tmp_path / "acme_catalog.json"
    path.write_text(
        json.dumps({"brand_identity": {"id": "acme", "name": "Acme"}, "products": [record]})
    )
    import_catalog([str(path)])

    assert documents_of(product=product) == []
    legacy.refresh_from_db()
    assert (legacy.status, legacy.error) == (Manual.Status.FAILED, NOT_A_MANUAL)
    assert DiscoveryTarget.objects.filter(product=product, source__url=url).exists()


def _subset() -> list[Model]:
    keep = {
        "roland-fp-e50", "roland-fp-e30", "roland-gp-9", "roland-gp-9m", "roland-rd-2000",
        "roland-rd-2000_ex", "boss-rc-505", "boss-rc-505mkii", "boss-gx-1", "boss-gx-1b",
        "nord-nord-electro-6", "nord-nord-electro-6d", "akai-mpk-mini-mk3",
        "akai-mpk-mini-mk3-red", "roland-cb-404",
    }  # fmt: skip
    models = VendorSites().models
    return [m for m in models if m.catalog_id in keep or not m.in_catalog]


def test_the_loopback_vendor_sites_get_the_right_documents_and_never_another_models(
    manual_settings,
):
    sites = VendorSites(_subset())
    with sites.serve():
        manual_settings.MANUAL_FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{sites.port}"]
        score = evaluate(sites)

    assert len(score.products) == 15
    assert score.right_share >= 0.95
    assert score.other_models == []
    assert score.precision == 1.0


def test_a_product_without_a_discovery_source_says_the_catalog_lists_no_manual():
    product = _product("FP-E50", "roland-fp-e50")
    assert why_no_documents(product=product) == "the catalog lists no manual for it"


def test_discover_documents_reads_new_sources_and_prints_what_it_attached(vendor, manual_settings):
    from io import StringIO

    from django.core.management import call_command

    vendor.add("/files/fp-e50_om.pdf", body=_pdf("fp-e50"))
    index = vendor.add(
        "/support/", body=_page("<ul><li>FP-E50 <a href='/files/fp-e50_om.pdf'>Owner's Manual</a>")
    )
    _look_for(index, _product("FP-E50", "roland-fp-e50"))
    out = StringIO()
    call_command("discover_documents", "--sync", stdout=out)
    assert f"{index}: 1 products, 1 documents attached, 0 links for review" in out.getvalue()
