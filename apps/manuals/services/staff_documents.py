"""Staff tools for documents: attach many from a CSV, upload several PDFs at once.

Every good row or file is attached and queued for ingest; every bad one is reported with
its row number (or file name) and the reason, and changes nothing, so staff fix those and
upload them again without losing the rest.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apps.manuals.discovery.words import LANGUAGE_CODES, document_kind, language_named
from apps.manuals.fetching import sniff_kind
from apps.manuals.models import DocumentLink, Manual
from apps.manuals.services.documents import attach_document
from apps.manuals.services.queueing import request_prefetch
from apps.products.models import Family, Product
from hscjit.url_rules import catalog_url_problem

MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_CSV_ROWS = 5000
COLUMNS = ("product", "family", "url", "kind", "language")


@dataclass(frozen=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it: the header is row 1
    text: str
    reason: str


@dataclass
class BulkOutcome:
    attached: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    manual_ids: list[int] = field(default_factory=list)  # the documents attached, in order


class CsvError(ValueError):
    """The file as a whole cannot be read; nothing was attached."""


def parse_kind(value: str) -> str:
    """A document kind from its code ("owners_manual") or its words ("Owner's manual")."""
    text = value.strip()
    if not text:
        return Manual.DocumentKind.OWNERS_MANUAL
    if text.lower() in Manual.DocumentKind.values:
        return text.lower()
    kind = document_kind(text)
    if not kind:
        choices = ", ".join(Manual.DocumentKind.values)
        raise ValueError(f"kind {value!r} is not one of {choices}")
    return kind


def parse_language(value: str) -> str:
    text = value.strip()
    if not text:
        return "en"
    if text.lower() in LANGUAGE_CODES:
        return LANGUAGE_CODES[text.lower()]
    language = language_named(text)
    if not language:
        raise ValueError(f"language {value!r} is not a language code (en, he, de...) or name")
    return language


def _target(row: dict[str, str]) -> tuple[Product | None, Family | None, str]:
    product_id, family_slug = row.get("product", "").strip(), row.get("family", "").strip()
    if product_id and family_slug:
        raise ValueError("give a product or a family, not both")
    if not product_id and not family_slug:
        raise ValueError("the row names no product and no family")
    if product_id:
        product = Product.objects.filter(catalog_id=product_id).first()
        if product is None:
            raise ValueError(f"no product has the catalog id {product_id!r}")
        return product, None, product.name
    family = Family.objects.filter(slug=family_slug).first()
    if family is None:
        raise ValueError(f"no family has the slug {family_slug!r}")
    return None, family, family.name


def _rows(data: bytes) -> list[dict[str, str]]:
    if len(data) > MAX_CSV_BYTES:
        raise CsvError(f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("The file is not UTF-8 text; save it as CSV UTF-8.") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "url" not in header or not {"product", "family"} & set(header):
        raise CsvError(
            "The first row must name the columns: product (catalog id) or family (slug), url, "
            "kind, language."
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        rows.append({k: (v or "").strip() for k, v in row.items() if isinstance(k, str)})
        if len(rows) > MAX_CSV_ROWS:
            raise CsvError(f"The file has more than {MAX_CSV_ROWS:,} rows; split it.")
    return rows


def attach_from_csv(*, data: bytes, filename: str, user: str) -> BulkOutcome:
    """Attach the document of each good row to its product or family and queue its fetch."""
    outcome = BulkOutcome()
    queue: list[int] = []
    for number, row in enumerate(_rows(data), start=2):
        text = ", ".join(row.get(column, "") for column in COLUMNS if column in row)
        if not any(row.values()):
            continue
        try:
            with transaction.atomic():
                product, family, name = _target(row)
                url = row.get("url", "")
                problem = catalog_url_problem(url)
                if problem is not None:
                    raise ValueError(f"the address {problem}")
                kind = parse_kind(row.get("kind", ""))
                language = parse_language(row.get("language", ""))
                manual, created = Manual.objects.get_or_create(
                    source_url=url.strip(),
                    defaults={
                        "title": f"{name} {Manual.DocumentKind(kind).label}",
                        "document_kind": kind,
                        "language": language,
                    },
                )
                if not created and (manual.document_kind, manual.language) != (kind, language):
                    manual.document_kind, manual.language = kind, language
                    manual.save(update_fields=["document_kind", "language", "updated_at"])
                linked = DocumentLink.objects.filter(
                    manual=manual, product=product, family=family
                ).exists()
                attach_document(
                    manual=manual,
                    product=product,
                    family=family,
                    origin=DocumentLink.Origin.STAFF,
                    provenance=f"CSV {filename}, row {number}, by {user}",
                )
        except ValueError as error:
            outcome.problems.append(RowProblem(number, text, str(error)))
            continue
        (outcome.already if linked else outcome.attached).append(f"row {number}: {name} ← {url}")
        queue.append(manual.pk)
        outcome.manual_ids.append(manual.pk)
    for manual_id in dict.fromkeys(queue):
        request_prefetch(manual_id=manual_id)
    return outcome


def attach_uploads(
    *,
    files: list[UploadedFile],
    product: Product | None,
    family: Family | None,
    kind: str,
    language: str,
    user: str,
) -> BulkOutcome:
    """Each PDF becomes a document of the product or family, queued for ingest; with no
    `kind`, each file's kind is read off its name."""
    outcome = BulkOutcome()
    name = product.name if product is not None else family.name if family is not None else ""
    for position, upload in enumerate(files, start=1):
        label = upload.name or f"file {position}"
        if upload.size is not None and upload.size > settings.MANUAL_MAX_BYTES:
            limit = settings.MANUAL_MAX_BYTES // (1024 * 1024) or 1
            outcome.problems.append(RowProblem(position, label, f"it is larger than {limit} MB"))
            continue
        head = upload.read(2048)
        upload.seek(0)
        if sniff_kind(head) != "pdf":
            outcome.problems.append(RowProblem(position, label, "it is not a PDF"))
            continue
        with transaction.atomic():
            # A file name with spaces reads as a title; "shik-n32b-midi" reads as a file name,
            # and customers see the title in every answer that quotes the document.
            stem = PurePath(label).stem.strip()
            titled = " " in stem
            file_kind = kind or _kind_of_file(stem)
            title = stem[:300] if titled else f"{name} {Manual.DocumentKind(file_kind).label}"
            manual = Manual(
                title=title,
                document_kind=file_kind,
                language=language,
                kind=Manual.Kind.PDF,
            )
            manual.uploaded_file.save(PurePath(label).name[:100], upload, save=False)
            manual.save()
            attach_document(
                manual=manual,
                product=product,
                family=family,
                origin=DocumentLink.Origin.STAFF,
                provenance=f"uploaded by {user}: {label}"[:2000],
            )
            request_prefetch(manual_id=manual.pk)
        outcome.attached.append(f"{label} → {name}")
        outcome.manual_ids.append(manual.pk)
    return outcome


def _kind_of_file(stem: str) -> str:
    """The kind a file's name says ("n32b-midi-implementation"), an owner's manual if none."""
    words = re.sub(r"[-_.]+", " ", stem)
    return document_kind(words) or Manual.DocumentKind.OWNERS_MANUAL
