"""The work on one manual: fetch → extract → store pages, by whoever holds its lease."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.manuals.extraction import ExtractionError, ExtractLimits, Page, extract_document
from apps.manuals.fetching import (
    Fetched,
    FetchError,
    FetchPolicy,
    fetch_to_file,
    parse_allowed_hosts,
    sniff_kind,
)
from apps.manuals.models import Manual, ManualIndexData, ManualPage
from apps.manuals.retrieval import store as index_store
from apps.manuals.services.leases import (
    IN_FLIGHT,
    ManualBusy,
    ManualTransientError,
    busy_or_settled,
    claim,
    expired,
    release,
    seconds_left,
    unheld,
    update_held,
)
from apps.manuals.services.status import (
    INTERNAL,
    fail,
    fail_without_source,
    has_source,
    publish_status,
)
from hscjit.background import after_commit, enqueue
from hscjit.metrics import DOCUMENTS_INDEXED, MANUAL_EXTRACT, MANUAL_FETCH

logger = logging.getLogger(__name__)
Status = Manual.Status


def fetch_policy() -> FetchPolicy:
    return FetchPolicy(
        max_bytes=settings.MANUAL_MAX_BYTES,
        connect_timeout=settings.MANUAL_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.MANUAL_FETCH_READ_TIMEOUT,
        deadline=settings.MANUAL_FETCH_DEADLINE,
        retries=settings.MANUAL_FETCH_RETRIES,
        backoff=settings.MANUAL_FETCH_BACKOFF,
        allowed_hosts=parse_allowed_hosts(settings.MANUAL_FETCH_ALLOWED_HOSTS),
    )


def extract_limits() -> ExtractLimits:
    return ExtractLimits(
        wall_seconds=settings.MANUAL_EXTRACT_TIMEOUT,
        cpu_seconds=settings.MANUAL_EXTRACT_CPU_SECONDS,
        memory_mb=settings.MANUAL_EXTRACT_MEMORY_MB,
        max_pages=settings.MANUAL_MAX_PAGES,
        max_text_chars=settings.MANUAL_MAX_TEXT_CHARS,
    )


def ingest_manual(*, manual_id: int) -> Manual:
    """Fetch, extract and store a manual's pages now, in this process."""
    manual = Manual.objects.get(pk=manual_id)
    if not has_source(manual):
        return fail_without_source(manual)
    quiet = manual.status == Status.READY
    now = timezone.now()
    changes = {} if quiet else {"status": Status.FETCHING, "progress": 0.0, "error": ""}
    token = claim(manual_id, unheld(now), now=now, **changes)
    if token is None:
        raise ManualBusy(seconds_left(manual_id, now))
    return _fetch_and_extract(manual_id, token, quiet=quiet, last_attempt=True, hand_off=False)


def prefetch(*, manual_id: int, last_attempt: bool) -> Manual:
    now = timezone.now()
    claimable = Q(status=Status.QUEUED, lease_token="") | (Q(status__in=IN_FLIGHT) & expired(now))
    token = claim(manual_id, claimable, now=now, status=Status.FETCHING, progress=0.0)
    if token is None:
        return busy_or_settled(manual_id, now)
    return _fetch_and_extract(
        manual_id, token, quiet=False, last_attempt=last_attempt, hand_off=True
    )


def refresh(*, manual_id: int, last_attempt: bool) -> Manual:
    now = timezone.now()
    token = claim(manual_id, Q(status=Status.READY) & unheld(now), now=now)
    if token is None:
        return Manual.objects.get(pk=manual_id)
    return _fetch_and_extract(
        manual_id, token, quiet=True, last_attempt=last_attempt, hand_off=False
    )


def index_large_document(*, manual_id: int) -> Manual:
    """Read a fetched original whose size earned it a task of its own."""
    now = timezone.now()
    token = claim(manual_id, Q(status=Status.EXTRACTING) & unheld(now), now=now)
    if token is None:
        return busy_or_settled(manual_id, now)
    return _extract_stored(manual_id, token, quiet=False)


def reextract(*, manual_id: int) -> Manual:
    now = timezone.now()
    manual = Manual.objects.get(pk=manual_id)
    quiet = manual.status == Status.READY
    changes = {} if quiet else {"status": Status.EXTRACTING, "progress": 0.0, "error": ""}
    condition = ~Q(stored_file="") & unheld(now)
    token = claim(manual_id, condition, now=now, **changes)
    if token is None:
        return manual
    return _extract_stored(manual_id, token, quiet=quiet)


# --- The pipeline ---------------------------------------------------------------------------


def _fetch_and_extract(
    manual_id: int, token: str, *, quiet: bool, last_attempt: bool, hand_off: bool
) -> Manual:
    manual = Manual.objects.get(pk=manual_id)
    if not quiet:
        publish_status(manual=manual)
    try:
        with tempfile.TemporaryDirectory(prefix="manual-") as workdir:
            original = Path(workdir) / "original"
            started = time.monotonic()
            try:
                fetched = _fetch_original(manual, original, conditional=quiet)
            except FetchError as exc:
                retry = exc.transient and not last_attempt
                outcome = "retry" if retry else "failed"
                MANUAL_FETCH.labels(manual.kind, outcome).observe(time.monotonic() - started)
                if retry:
                    release(manual_id, token, status=manual.status if quiet else Status.QUEUED)
                    raise ManualTransientError(exc.reason) from exc
                return fail(manual_id, token, exc.reason, quiet=quiet)
            outcome = "not_modified" if fetched.not_modified else "ok"
            MANUAL_FETCH.labels(fetched.kind or manual.kind, outcome).observe(
                time.monotonic() - started
            )
            if fetched.not_modified or (quiet and fetched.sha256 == manual.content_hash):
                return _keep(manual_id, token, fetched)
            if fetched.kind == "html" and not manual.uploaded_file:
                # A support index or product page is where documents are found, not one.
                from apps.manuals.services.discovery import hand_over_link_page

                handed = hand_over_link_page(manual_id=manual_id, token=token, original=original)
                if handed is not None:
                    return handed
            source = {
                "stored_file": _store_original(manual, original, fetched),
                "content_hash": fetched.sha256,
                "size_bytes": fetched.size,
                "kind": fetched.kind,
                "etag": fetched.etag,
                "last_modified": fetched.last_modified,
                "fetched_at": timezone.now(),
            }
            if quiet:
                return _extract(manual_id, token, original, source=source, quiet=True)
            update_held(manual_id, token, status=Status.EXTRACTING, progress=0.0, **source)
            if hand_off and fetched.size >= settings.MANUAL_LARGE_DOCUMENT_BYTES:
                release(manual_id, token, status=Status.EXTRACTING)
                enqueue("apps.manuals.tasks.index_large_document", manual_id)
                return Manual.objects.get(pk=manual_id)
            return _extract(manual_id, token, original, source={}, quiet=False)
    except ManualTransientError:
        raise
    except Exception:
        logger.exception("manual %s: unexpected error while ingesting", manual_id)
        fail(manual_id, token, INTERNAL, quiet=quiet)
        raise


def _extract_stored(manual_id: int, token: str, *, quiet: bool) -> Manual:
    manual = Manual.objects.get(pk=manual_id)
    if not quiet:
        publish_status(manual=manual)
    try:
        with tempfile.TemporaryDirectory(prefix="manual-") as workdir:
            original = Path(workdir) / "original"
            with manual.stored_file.open("rb") as stored, original.open("wb") as out:
                for chunk in stored.chunks():
                    out.write(chunk)
            return _extract(manual_id, token, original, source={}, quiet=quiet)
    except Exception:
        logger.exception("manual %s: unexpected error while extracting", manual_id)
        fail(manual_id, token, INTERNAL, quiet=quiet)
        raise


def _extract(
    manual_id: int, token: str, original: Path, *, source: dict[str, Any], quiet: bool
) -> Manual:
    kind = source.get("kind") or Manual.objects.values_list("kind", flat=True).get(pk=manual_id)

    def progress(done: int, total: int) -> None:
        changes: dict[str, Any] = {} if quiet else {"progress": done / total, "page_count": total}
        if update_held(manual_id, token, **changes) and not quiet:
            publish_status(manual=Manual.objects.get(pk=manual_id))

    started = time.monotonic()
    try:
        pages = extract_document(original, kind=kind, limits=extract_limits(), on_progress=progress)
    except ExtractionError as exc:
        MANUAL_EXTRACT.labels(kind, "failed").observe(time.monotonic() - started)
        if quiet and source:
            _delete_unless_used(source["stored_file"], manual_id)
        return fail(manual_id, token, exc.reason, quiet=quiet)
    MANUAL_EXTRACT.labels(kind, "ok").observe(time.monotonic() - started)
    return _store_pages(manual_id, token, pages, source=source)


def _store_pages(
    manual_id: int, token: str, pages: list[Page], *, source: dict[str, Any]
) -> Manual:
    # The lexical index is built here in the worker and stored with the pages, so the manual
    # is answerable the moment it is ready; its embeddings follow (`_embed`).
    started = time.perf_counter()
    index = index_store.build_lexical(
        manual_id=manual_id, version=0, pages=[(page.number, page.text) for page in pages]
    )
    index_seconds = time.perf_counter() - started
    with transaction.atomic():
        manual = Manual.objects.select_for_update().filter(pk=manual_id, lease_token=token).first()
        if manual is None:
            # Our lease ran out and another worker took over; its result stands.
            logger.warning("manual %s: lease lost before storing pages", manual_id)
            return Manual.objects.get(pk=manual_id)
        previous_file = manual.stored_file.name
        ManualPage.objects.filter(manual_id=manual_id).delete()
        ManualPage.objects.bulk_create(
            [
                ManualPage(manual_id=manual_id, number=p.number, title=p.title[:300], text=p.text)
                for p in pages
            ],
            batch_size=500,
        )
        for field, value in source.items():
            setattr(manual, field, value)
        manual.status = Status.READY
        manual.error = ""
        manual.progress = 1.0
        manual.page_count = len(pages)
        manual.version = F("version") + 1
        manual.extracted_at = timezone.now()
        manual.lease_token = ""
        manual.lease_until = None
        manual.save()
        manual.refresh_from_db()
        index.version = manual.version
        index_store.save_lexical(manual_id=manual_id, index=index, seconds=index_seconds)
        publish_status(manual=manual)
        if previous_file and previous_file != manual.stored_file.name:
            after_commit(lambda: _delete_unless_used(previous_file, manual_id))
    DOCUMENTS_INDEXED.inc()
    _embed(manual_id, manual.version)
    return manual


def rebuild_index(*, manual_id: int) -> bool:
    """Index a ready manual's stored pages again, as a new version (True: hybrid).

    Its text read by today's extraction rules is new derived data: every process's passage
    index and the cached answers key on the version, so they start afresh instead of keeping
    the old units until they age out. Until the new index is stored, a web process answers
    from the pages lexically, as for any version without one."""
    with transaction.atomic():
        bumped = Manual.objects.filter(pk=manual_id, status=Manual.Status.READY).update(
            version=F("version") + 1
        )
        if not bumped:
            return False
        ManualIndexData.objects.filter(manual_id=manual_id).delete()
        publish_status(manual=Manual.objects.get(pk=manual_id))
    return index_store.index_manual(manual_id=manual_id)


def _embed(manual_id: int, version: int) -> None:
    """Embed the stored index's passages; a failure leaves the manual answerable lexically."""
    try:
        index_store.embed_stored(manual_id=manual_id, version=version)
    except Exception:
        logger.exception("manual %s v%s: embedding failed; it stays lexical", manual_id, version)


def _fetch_original(manual: Manual, dest: Path, *, conditional: bool) -> Fetched:
    with dest.open("wb") as out:
        if manual.uploaded_file:
            return _copy_upload(manual, out)
        return fetch_to_file(
            manual.source_url,
            out,
            policy=fetch_policy(),
            etag=manual.etag if conditional else "",
            last_modified=manual.last_modified if conditional else "",
        )


def _copy_upload(manual: Manual, out: BinaryIO) -> Fetched:
    digest = hashlib.sha256()
    head = b""
    size = 0
    with manual.uploaded_file.open("rb") as upload:
        for chunk in upload.chunks():
            head = head or chunk[:2048]
            size += len(chunk)
            digest.update(chunk)
            out.write(chunk)
    kind = sniff_kind(head)
    if not kind:
        raise FetchError("The uploaded manual is neither a PDF nor a web page.")
    return Fetched(
        not_modified=False,
        url=manual.uploaded_file.name,
        size=size,
        sha256=digest.hexdigest(),
        kind=kind,
    )


def _store_original(manual: Manual, original: Path, fetched: Fetched) -> str:
    if manual.uploaded_file:
        return manual.uploaded_file.name
    # Named by content, so a second run of the same fetch reuses the file it stored.
    name = f"manuals/stored/{manual.pk}/{fetched.sha256[:24]}.{fetched.kind}"
    if not default_storage.exists(name):
        with original.open("rb") as content:
            name = default_storage.save(name, File(content))
    return name


def _delete_unless_used(name: str, manual_id: int) -> None:
    in_use = Q(stored_file=name) | Q(uploaded_file=name)
    if name and not Manual.objects.filter(in_use).exists():
        default_storage.delete(name)
        logger.info("manual %s: deleted replaced original %s", manual_id, name)


# --- Row updates under the lease ------------------------------------------------------------


def _keep(manual_id: int, token: str, fetched: Fetched) -> Manual:
    changes: dict[str, Any] = {"fetched_at": timezone.now(), "error": ""}
    if fetched.etag:
        changes["etag"] = fetched.etag
    if fetched.last_modified:
        changes["last_modified"] = fetched.last_modified
    Manual.objects.filter(pk=manual_id, lease_token=token).update(
        lease_token="", lease_until=None, **changes
    )
    return Manual.objects.get(pk=manual_id)
