"""Vendor websites on loopback in the shapes real ones have, for `eval_discovery` and tests.

Three shapes: a brand-wide support index with one table row per model (some rows lead to
the model's own support page, some links go through a download redirect), a product page
per model with a "Downloads" tab, and a downloads page grouped under one heading per model
with the languages as link text. Look-alike models (RC-505 / RC-505MKII, FP-E50 / FP-E30,
GP-9 / GP-9M, Electro 6 / 6D), colour variants, models the catalog does not carry and
catalog products the vendor lists nothing for are all there. Each product knows which of
the documents it should get: that is what discovery is scored against.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from apps.manuals.models import Manual

K = Manual.DocumentKind


@dataclass(frozen=True)
class Doc:
    slug: str
    kind: str
    language: str
    label: str
    redirect: bool = False


@dataclass
class Model:
    name: str
    catalog_id: str
    brand: str
    shape: str  # "index", "product_page" or "headings"
    docs: list[Doc] = field(default_factory=list)
    in_catalog: bool = True
    # Another catalog product whose documents these are too (colour variants).
    same_as: str = ""


def _standard(slug: str, *, hebrew: bool = True, extra: tuple[str, ...] = ()) -> list[Doc]:
    docs = [
        Doc(f"{slug}_om_eng.pdf", K.OWNERS_MANUAL, "en", "Owner's Manual"),
        Doc(f"{slug}_om_ger.pdf", K.OWNERS_MANUAL, "de", "Bedienungsanleitung"),
        Doc(f"{slug}_om_fre.pdf", K.OWNERS_MANUAL, "fr", "Mode d'emploi"),
    ]
    if hebrew:
        docs.append(Doc(f"{slug}_om_heb.pdf", K.OWNERS_MANUAL, "he", "מדריך למשתמש"))
    for kind in extra:
        label = {
            K.REFERENCE: "Reference Manual",
            K.PARAMETER_GUIDE: "Parameter Guide",
            K.MIDI_IMPLEMENTATION: "MIDI Implementation",
            K.QUICK_START: "Quick Start",
        }[kind]
        docs.append(Doc(f"{slug}_{kind}_eng.pdf", kind, "en", label, redirect=kind == K.REFERENCE))
    return docs


def _models() -> list[Model]:
    index = [
        ("FP-E50", "roland-fp-e50", (K.REFERENCE, K.MIDI_IMPLEMENTATION)),
        ("FP-E30", "roland-fp-e30", ()),
        ("FP-10", "roland-fp-10", ()),
        ("GP-3 Digital Piano", "roland-gp-3", ()),
        ("GP-6 Digital Piano", "roland-gp-6", ()),
        ("GP-9 Digital Piano", "roland-gp-9", (K.PARAMETER_GUIDE,)),
        ("GP-9M Digital Piano", "roland-gp-9m", (K.PARAMETER_GUIDE,)),
        ("RD-2000 Stage Piano", "roland-rd-2000", (K.PARAMETER_GUIDE,)),
        ("RD-2000 EX Stage Piano", "roland-rd-2000_ex", (K.PARAMETER_GUIDE,)),
        ("TR-808", "roland-rc_tr-808", ()),
        ("TR-606", "roland-rc_tr-606", ()),
        ("TB-303", "roland-rc_tb-303", ()),
        ("JUPITER-X", "roland-jupiter-x", (K.PARAMETER_GUIDE, K.MIDI_IMPLEMENTATION)),
        ("JUPITER-Xm", "roland-jupiter-xm", (K.PARAMETER_GUIDE,)),
        ("KS-10X Keyboard Stand", "roland-ks-10x", ()),
        ("KS-20X Keyboard Stand", "roland-ks-20x", ()),
        ("RH-5 Monitor Headphones", "roland-rh-5", ()),
        ("Bridge Cast", "roland-bridge_cast", (K.QUICK_START,)),
        ("FANTOM-06", "roland-fantom-06", (K.REFERENCE,)),
        ("FANTOM-08", "roland-fantom-08", (K.REFERENCE,)),
    ]
    models = [
        Model(name, cid, "roland", "index", _standard(cid.removeprefix("roland-"), extra=extra))
        for name, cid, extra in index
    ]
    # The vendor lists models the shop does not carry: they must not attach to look-alikes.
    for name in ("FP-E30X", "GP-607", "RD-88", "JUPITER-X Sound Pack", "TR-8S"):
        slug = name.lower().replace(" ", "-")
        models.append(Model(name, "", "roland", "index", _standard(slug), in_catalog=False))
    # A catalog product the vendor's index does not list: nothing to find.
    models.append(Model("CB-404 Carrying Case", "roland-cb-404", "roland", "index"))
    pages = [
        ("RC-505", "boss-rc-505", ()),
        ("RC-505mkII Loop Station", "boss-rc-505mkii", (K.PARAMETER_GUIDE,)),
        ("RC-5 Loop Station", "boss-rc-5", ()),
        ("GX-1Guitar Effects Processor", "boss-gx-1", (K.PARAMETER_GUIDE,)),
        ("GX-1BBass Effects Processor", "boss-gx-1b", (K.PARAMETER_GUIDE,)),
        ("GX-10Guitar Effects Processor", "boss-gx-10", (K.PARAMETER_GUIDE,)),
        ("XS-1Poly Shifter", "boss-xs-1", ()),
        ("XS-100Poly Shifter", "boss-xs-100", ()),
        ("Katana-50 MkII", "boss-katana-50-mkii", ()),
        ("Katana-50 MkII EX", "boss-katana-50-mkii-ex", ()),
        ("Nextone SpecialGuitar Amplifier", "boss-nextone_special", ()),
        ("GT-1000Guitar Effects Processor", "boss-gt-1000", (K.PARAMETER_GUIDE, K.QUICK_START)),
    ]
    models += [
        Model(name, cid, "boss", "product_page", _standard(cid.removeprefix("boss-"), extra=extra))
        for name, cid, extra in pages
    ]
    headings = [
        ("Nord Stage 4", "nord-nord-stage-4", True),
        ("Nord Stage 3", "nord-nord-stage-3", True),
        ("Nord Electro 6", "nord-nord-electro-6", True),
        ("Nord Electro 6D", "nord-nord-electro-6d", False),
        ("Nord Electro 7", "nord-nord-electro-7", True),
        ("Nord Piano 6", "nord-nord-piano-6", True),
        ("Nord Grand 2", "nord-nord-grand-2", False),
        ("Nord Lead A1", "nord-nord-lead-a1", False),
        ("Nord Drum 3P", "nord-nord-drum-3p", False),
        ("Nord Wave 2", "nord-nord-wave-2", False),
    ]
    models += [
        Model(
            name, cid, "nord", "headings",
            _standard(cid.removeprefix("nord-nord-"), hebrew=hebrew, extra=(K.QUICK_START,)),
        )
        for name, cid, hebrew in headings
    ]  # fmt: skip
    models.append(Model("Nord Organ 3", "", "nord", "headings", _standard("organ-3"), False))
    # Colour variants on product pages: one document set, three catalog products.
    mpk = _standard("mpk-mini-mk3", hebrew=False, extra=(K.QUICK_START,))
    models.append(Model("MPK Mini mk3", "akai-mpk-mini-mk3", "akai", "product_page", mpk))
    for colour in ("Red", "White"):
        models.append(
            Model(
                f"MPK Mini mk3 {colour}",
                f"akai-mpk-mini-mk3-{colour.lower()}",
                "akai",
                "product_page",
                same_as="akai-mpk-mini-mk3",
            )
        )
    return models


BRANDS = {
    "roland": "Roland",
    "boss": "BOSS",
    "nord": "Nord",
    "akai": "Akai Professional",
}


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class VendorSites:
    """The sites' routes, built from the models; `serve()` puts them on loopback."""

    def __init__(self, models: list[Model] | None = None) -> None:
        self.models = models if models is not None else _models()
        self.routes: dict[str, Route] = {}
        self.port = 0
        self._redirects = 0
        self._build()

    # --- what products and sources the catalog has --------------------------------------

    def catalog(self) -> list[Model]:
        return [m for m in self.models if m.in_catalog and m.catalog_id]

    def source_path(self, model: Model) -> str:
        if model.shape == "index":
            return "/roland/support/owners_manuals/"
        if model.shape == "headings":
            return "/nord/downloads/"
        catalog_id = model.same_as or model.catalog_id
        return f"/{model.brand}/products/{catalog_id.split('-', 1)[1]}/"

    def expected(self, model: Model, languages: set[str]) -> set[str]:
        """The URLs of the documents this product should get, in the languages wanted."""
        owner = self._by_id(model.same_as) if model.same_as else model
        return {self.url(self._doc_path(owner, d)) for d in owner.docs if d.language in languages}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _by_id(self, catalog_id: str) -> Model:
        return next(m for m in self.models if m.catalog_id == catalog_id)

    # --- building the pages -------------------------------------------------------------

    def _doc_path(self, model: Model, doc: Doc) -> str:
        if doc.redirect:
            return f"/{model.brand}/dl/{doc.slug.replace('.pdf', '')}"
        return f"/{model.brand}/files/{doc.slug}"

    def _add_docs(self, model: Model) -> None:
        for doc in model.docs:
            target = f"/{model.brand}/files/{doc.slug}"
            self.routes[target] = Route(body=b"%PDF-1.5\n% " + doc.slug.encode() + b"\n" * 64)
            if doc.redirect:
                self.routes[self._doc_path(model, doc)] = Route(
                    status=302, headers={"Location": target}
                )

    def _doc_item(self, model: Model, doc: Doc, *, language_in_text: bool = False) -> str:
        href = html.escape(self._doc_path(model, doc))
        label = html.escape(doc.label)
        language = {"en": "English", "de": "Deutsch", "fr": "Français", "he": "עברית"}[doc.language]
        if language_in_text:
            return f'<li><a href="{href}">{language} {label}</a></li>'
        size = "PDF, 2.4 MB" if doc.redirect else "2.4 MB"
        return f'<li><a href="{href}">{label}</a> <span>{language}</span> ({size})</li>'

    def _build(self) -> None:
        for model in self.models:
            self._add_docs(model)
        index_rows = []
        for model in (m for m in self.models if m.shape == "index"):
            if not model.docs:
                continue
            if model.name.startswith(("GP-", "TR-")):
                # These rows lead to the model's own support page, as a real index does.
                slug = model.name.split()[0].lower()
                page = f"/roland/support/by_product/{slug}/owners_manuals/"
                items = "".join(self._doc_item(model, d) for d in model.docs)
                self.routes[page] = Route(
                    body=_page(
                        f"{model.name} - Owner's Manuals - Roland",
                        f"<h1>{html.escape(model.name)}</h1><h2>Owner's Manuals</h2>"
                        f'<ul class="manual-list">{items}</ul>'
                        '<p><a href="/roland/support/owners_manuals/">All products</a></p>',
                    )
                )
                cell = f'<a href="{page}">{html.escape(model.name)} Support</a>'
            else:
                cell = "<ul>" + "".join(self._doc_item(model, d) for d in model.docs) + "</ul>"
            name = html.escape(_display(model.name))
            index_rows.append(f'<tr><td class="model">{name}</td><td>{cell}</td></tr>')
        self.routes["/roland/support/owners_manuals/"] = Route(
            body=_page(
                "Owner's Manuals | Roland",
                "<h1>Owner's Manuals</h1><p>Find the manual of your Roland product.</p>"
                '<table class="support-list"><tr><th>Model</th><th>Documents</th></tr>'
                + "".join(index_rows)
                + "</table>",
            )
        )
        sections = []
        for model in (m for m in self.models if m.shape == "headings"):
            items = "".join(self._doc_item(model, d, language_in_text=True) for d in model.docs)
            sections.append(f"<h3>{html.escape(model.name)}</h3><ul>{items}</ul>")
        self.routes["/nord/downloads/"] = Route(
            body=_page(
                "Downloads - Nord Keyboards",
                "<h1>Downloads</h1><h2>User Manuals</h2>" + "".join(sections)
                + '<h2>Software</h2><ul><li><a href="/nord/files/sound-manager.zip">'
                "Nord Sound Manager v8.2</a></li></ul>",
            )
        )  # fmt: skip
        for model in (m for m in self.models if m.shape == "product_page" and not m.same_as):
            related = [
                m for m in self.models if m.brand == model.brand and m is not model and m.docs
            ][:2]
            items = "".join(self._doc_item(model, d) for d in model.docs)
            also = "".join(
                f'<li><a href="{self.source_path(m)}">{html.escape(_display(m.name))}</a></li>'
                for m in related
            )
            body = _page(
                f"{_display(model.name)} | {BRANDS[model.brand]}",
                f"<h1>{html.escape(_display(model.name))}</h1>"
                '<nav class="tabs"><a href="#overview">Overview</a> '
                '<a href="#specs">Specifications</a> <a href="#downloads">Downloads</a></nav>'
                '<section id="overview"><p>Built for the stage and the studio.</p></section>'
                '<section id="downloads" class="tab-panel"><h2>Downloads</h2>'
                f'<ul>{items}</ul><a href="/{model.brand}/files/{model.catalog_id}-fw.zip">'
                "System Program (Ver.1.10)</a></section>"
                f"<aside><h2>Related products</h2><ul>{also}</ul></aside>",
            )
            self.routes[self.source_path(model)] = Route(body=body)

    @contextmanager
    def serve(self) -> Iterator[VendorSites]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


def _display(name: str) -> str:
    """How the vendor writes the model: without the shop's glued category words."""
    for glued in ("Guitar Effects Processor", "Bass Effects Processor", "Poly Shifter"):
        name = name.replace(glued, "")
    for suffix in ("Guitar Amplifier", " Digital Piano", " Stage Piano", " Loop Station"):
        name = name.replace(suffix, "")
    return name.replace("SpecialGuitar", "Special").strip()


def _page(title: str, content: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head><body><header><a href='/'>Home</a> <a href='/support/'>Support</a>"
        f"</header><main>{content}</main><footer>© Vendor</footer></body></html>"
    ).encode()


def _handler(sites: VendorSites) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            route = sites.routes.get(self.path.split("?", 1)[0]) or Route(404, b"not found")
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            content_type = "application/pdf" if route.body.startswith(b"%PDF") else "text/html"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
