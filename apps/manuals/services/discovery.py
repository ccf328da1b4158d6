"""Finding each product's documents on a vendor page that links to them.

A support index shared by many products is fetched once per run and matched per product;
pages a link naming the product leads to (its support page, its "Downloads" tab) are read
too, within a budget. Every link we would keep is checked by its first bytes, with the same
SSRF-safe fetcher as manuals, so a link to a private address or to something that is not a
PDF never becomes a document. Sure matches are attached (DocumentLink, origin discovery);
unsure ones wait in the review queue (DocumentCandidate); a product for which nothing was
found keeps no document and a reason a customer can read.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.manuals.discovery.links import (
    NOT_DOCUMENTS,
    LinkPage,
    PageLink,
    is_link_page,
    looks_like_document,
    parse_page,
)
from apps.manuals.discovery.matching import (
    Judgement,
    LinkFields,
    ProductKey,
    judge,
    page_is_about,
    text_pieces,
)
from apps.manuals.discovery.words import document_kind
from apps.manuals.fetching import Fetched, FetchError, FetchPolicy, fetch_to_file, sniff_kind
from apps.manuals.models import (
    DiscoverySource,
    DiscoveryTarget,
    DocumentCandidate,
    DocumentLink,
    Manual,
)
from apps.manuals.services.documents import attach_document
from apps.manuals.services.leases import ManualTransientError
from apps.manuals.services.pipeline import fetch_policy
from apps.manuals.services.status import documents_changed, fail
from apps.products.models import Product
from hscjit.background import enqueue
from hscjit.url_rules import catalog_url_problem

logger = logging.getLogger(__name__)
Source = DiscoverySource.Status
Target = DiscoveryTarget.State

NOT_A_MANUAL = (
    "This address is a vendor page that links to documents, not a manual: the documents it "
    "lists are looked for there instead."
)
# Reasons customers read: the answer service translates them (see `no_manual`).
LOOKING = gettext_noop(
    "its documents are being looked for on the vendor's site; please ask again in a minute"
)
NO_CATALOG_DOCUMENT = gettext_noop("the catalog lists no manual for it")
# Pages followed from the page being read: a product's own page, then its downloads tab.
_MAX_DEPTH = 2
_FOLLOWED_PER_PRODUCT = 3
_DOWNLOAD_TAB_WORDS = ("download", "manual", "document", "support", "הורד", "מדריכ", "תיעוד")


class _EnoughBytes(Exception):
    """Raised from inside a download once the first bytes are in: we only wanted to look."""


class _FirstBytes(io.BytesIO):
    def __init__(self, limit: int = 2048) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        written = super().write(data)
        if self.tell() >= self.limit:
            raise _EnoughBytes
        return written


@dataclass
class ProductOutcome:
    attached: list[Judgement] = field(default_factory=list)
    review: list[Judgement] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    source_url: str
    pages_read: int = 0
    links_found: int = 0
    error: str = ""
    outcomes: dict[int, ProductOutcome] = field(default_factory=dict)


class _Run:
    """One reading of a source page: every page and first-bytes check is done once."""

    def __init__(self, policy: FetchPolicy, keys: list[ProductKey]) -> None:
        self.policy = policy
        self.page_policy = dataclasses.replace(
            policy, max_bytes=min(policy.max_bytes, settings.DISCOVERY_PAGE_MAX_BYTES)
        )
        self.keys = keys
        self.pages: dict[str, LinkPage | FetchError] = {}
        self.fields: dict[str, list[LinkFields]] = {}
        self.kinds: dict[str, str | FetchError] = {}

    @property
    def pages_read(self) -> int:
        return sum(1 for page in self.pages.values() if isinstance(page, LinkPage))

    def page(self, url: str) -> LinkPage:
        if url not in self.pages:
            if len(self.pages) >= settings.DISCOVERY_MAX_PAGES:
                raise FetchError("Discovery read as many pages as one run may.")
            self.pages[url] = self._read_page(url)
        found = self.pages[url]
        if isinstance(found, FetchError):
            raise found
        return found

    def _read_page(self, url: str) -> LinkPage | FetchError:
        with tempfile.TemporaryDirectory(prefix="discovery-") as workdir:
            path = Path(workdir) / "page"
            try:
                with path.open("wb") as out:
                    fetched = fetch_to_file(url, out, policy=self.page_policy)
            except FetchError as error:
                return error
            if fetched.kind != "html":
                return FetchError("The vendor's page is not a web page.")
            page = parse_page(path.read_bytes(), url=fetched.url or url)
        self.fields[page.url] = [LinkFields.of(link) for link in page.links]
        return page

    def first_bytes_kind(self, url: str) -> str:
        """'pdf', 'html' or '' from the first bytes at `url`; raises FetchError if refused."""
        if url not in self.kinds:
            if len(self.kinds) >= settings.DISCOVERY_MAX_CHECKS:
                raise FetchError("Discovery checked as many links as one run may.")
            self.kinds[url] = self._sniff(url)
        kind = self.kinds[url]
        if isinstance(kind, FetchError):
            raise kind
        return kind

    def _sniff(self, url: str) -> str | FetchError:
        head = _FirstBytes()
        try:
            fetched: Fetched = fetch_to_file(url, head, policy=self.policy)
        except _EnoughBytes:
            return sniff_kind(head.getvalue())
        except FetchError as error:
            return error
        return fetched.kind


def _key(product: Product) -> ProductKey:
    return ProductKey.build(
        pk=product.pk,
        name=product.name,
        catalog_id=product.catalog_id,
        brand_name=product.brand.name,
        brand_slug=product.brand.slug,
        aliases=[alias.alias for alias in product.aliases.all()],
    )


def _same_site(a: str, b: str) -> bool:
    return urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()


def _worth_following(verdict: Judgement, link: PageLink, page: LinkPage, theirs: bool) -> bool:
    """A link to the product's own page, or to the downloads tab of its page."""
    if looks_like_document(link) or link.extension in NOT_DOCUMENTS:
        return False
    if not _same_site(link.url, page.url) or link.url == page.url:
        return False
    if verdict.model >= 0.9 and not document_kind(link.text):
        return True
    words = link.text.lower()
    return theirs and any(word in words for word in _DOWNLOAD_TAB_WORDS)


def _look(run: _Run, page: LinkPage, key: ProductKey, theirs: bool, depth: int) -> list[Judgement]:
    others = [other for other in run.keys if other.pk != key.pk]
    theirs = theirs or page_is_about(key, page, others)
    found: list[Judgement] = []
    followed = 0
    for fields in run.fields[page.url]:
        verdict = judge(key, fields, others=others, page=page, page_is_theirs=theirs)
        if verdict.reviewable:
            found.append(verdict)
            continue
        if depth >= _MAX_DEPTH or followed >= _FOLLOWED_PER_PRODUCT:
            continue
        if not _worth_following(verdict, fields.link, page, theirs):
            continue
        followed += 1
        try:
            subpage = run.page(fields.link.url)
        except FetchError as error:
            logger.info("discovery: could not read %s: %s", fields.link.url, error.reason)
            continue
        # A page a link naming the product led to is that product's, unless it names another.
        subject = text_pieces(subpage.subject)
        led_here = not any(other.named_in(subject) for other in others)
        found.extend(_look(run, subpage, key, led_here, depth + 1))
    return found


def _checked(run: _Run, verdicts: list[Judgement], outcome: ProductOutcome) -> list[Judgement]:
    """The verdicts whose link is a PDF we may fetch, best first, each URL once."""
    kept: dict[str, Judgement] = {}
    for verdict in sorted(verdicts, key=lambda v: -v.score):
        url = verdict.link.url
        if url in kept:
            continue
        problem = catalog_url_problem(url)
        if problem is not None:
            outcome.dropped.append(f"{url}: the address {problem}")
            continue
        try:
            kind = run.first_bytes_kind(url)
        except FetchError as error:
            outcome.dropped.append(f"{url}: {error.reason}")
            continue
        if kind != "pdf":
            outcome.dropped.append(f"{url}: it is not a PDF")
            continue
        kept[url] = verdict
    return list(kept.values())


def _decide(verdicts: list[Judgement], outcome: ProductOutcome) -> None:
    languages = set(settings.DISCOVERY_LANGUAGES)
    sure = [v for v in verdicts if v.automatic]
    wanted = [v for v in sure if v.language in languages]
    outcome.attached = wanted
    if wanted:
        unsure = [v for v in verdicts if not v.automatic and v.language in languages]
    else:
        # Only in other languages, or only unsure: a person decides.
        for verdict in sure:
            verdict.reasons.append(f"it is in a language customers do not use ({verdict.language})")
        unsure = [v for v in verdicts if not v.automatic] + sure
    outcome.review = unsure


def _find(run: _Run, source_page: LinkPage, key: ProductKey) -> ProductOutcome:
    outcome = ProductOutcome()
    verdicts = _look(run, source_page, key, theirs=False, depth=0)
    _decide(_checked(run, verdicts, outcome), outcome)
    return outcome


# --- Runs -----------------------------------------------------------------------------------


def _lease(now: Any) -> Any:
    return now + timedelta(seconds=settings.MANUAL_LEASE_SECONDS)


def request_discovery(*, source_id: int, force: bool = False) -> bool:
    """Queue a run of `discover_documents` unless one is queued or running.

    Without `force`, a page already read is not read again, and one that could not be read
    is tried again only after MANUAL_FAILED_RETRY_SECONDS (customers asking do not hammer it).
    """
    now = timezone.now()
    wanted = ~(Q(status__in=[Source.QUEUED, Source.RUNNING]) & Q(lease_until__gte=now))
    if not force:
        retry = now - timedelta(seconds=settings.MANUAL_FAILED_RETRY_SECONDS)
        wanted &= Q(status=Source.NEW) | Q(status=Source.FAILED, last_run_at__lt=retry)
    with transaction.atomic():
        queued = DiscoverySource.objects.filter(wanted, pk=source_id).update(
            status=Source.QUEUED, lease_until=_lease(now)
        )
        if queued:
            enqueue("apps.manuals.tasks.discover_documents", source_id)
    return bool(queued)


def run_discovery(*, source_id: int, last_attempt: bool = True) -> RunReport:
    """Read the source page and look for every target product's documents on it."""
    now = timezone.now()
    claimable = ~Q(status=Source.RUNNING) | Q(lease_until__lt=now)
    claimed = DiscoverySource.objects.filter(claimable, pk=source_id).update(
        status=Source.RUNNING, lease_until=_lease(now)
    )
    source = DiscoverySource.objects.get(pk=source_id)
    report = RunReport(source_url=source.url)
    if not claimed:
        report.error = "another worker is reading this page"
        return report
    targets = list(
        source.targets.select_related("product__brand").prefetch_related("product__aliases")
    )
    keys = {target.product_id: _key(target.product) for target in targets}
    run = _Run(fetch_policy(), list(keys.values()))
    try:
        page = run.page(source.url)
    except FetchError as error:
        if error.transient and not last_attempt:
            DiscoverySource.objects.filter(pk=source_id).update(
                status=Source.QUEUED, lease_until=None
            )
            raise ManualTransientError(error.reason) from error
        report.error = error.reason
        _record_failure(source, targets, error.reason)
        return report
    for target in targets:
        report.outcomes[target.product_id] = _find(run, page, keys[target.product_id])
    report.pages_read = run.pages_read
    report.links_found = len(page.links)
    _record(source, targets, report)
    return report


def _record_failure(source: DiscoverySource, targets: list[DiscoveryTarget], reason: str) -> None:
    now = timezone.now()
    sentence = (
        "Its documents could not be looked for: the vendor's page could not be read "
        f"({reason.rstrip('.')})."
    )
    with transaction.atomic():
        DiscoverySource.objects.filter(pk=source.pk).update(
            status=Source.FAILED, error=reason, last_run_at=now, lease_until=None
        )
        DiscoveryTarget.objects.filter(pk__in=[t.pk for t in targets]).exclude(
            state=Target.FOUND
        ).update(state=Target.FAILED, reason=sentence, checked_at=now)


def _title(product: Product, verdict: Judgement) -> str:
    kind = Manual.DocumentKind(verdict.kind or Manual.DocumentKind.OTHER).label
    language = "" if verdict.language == "en" else f" ({verdict.language})"
    return f"{product.name} {kind.lower() if kind == 'Other' else kind}{language}"[:300]


def _provenance(verdict: Judgement) -> str:
    text = verdict.link.text or verdict.link.row
    return f"{verdict.page_url} · link “{text[:300]}” · {'; '.join(verdict.reasons)}"


def _record(source: DiscoverySource, targets: list[DiscoveryTarget], report: RunReport) -> None:
    now = timezone.now()
    with transaction.atomic():
        for target in targets:
            outcome = report.outcomes[target.product_id]
            _record_target(source, target, outcome, now)
        DiscoverySource.objects.filter(pk=source.pk).update(
            status=Source.DONE,
            error="",
            last_run_at=now,
            lease_until=None,
            links_found=report.links_found,
            pages_read=report.pages_read,
        )


def _record_target(
    source: DiscoverySource, target: DiscoveryTarget, outcome: ProductOutcome, now: Any
) -> None:
    product = target.product
    rejected = set(
        DocumentCandidate.objects.filter(
            product=product, state=DocumentCandidate.State.REJECTED
        ).values_list("url", flat=True)
    )
    attached = 0
    for verdict in outcome.attached:
        if verdict.link.url in rejected:
            continue
        manual = _manual_for(verdict, product)
        attach_document(
            manual=manual,
            product=product,
            origin=DocumentLink.Origin.DISCOVERY,
            provenance=_provenance(verdict),
        )
        attached += 1
    waiting = 0
    for verdict in outcome.review:
        if verdict.link.url in rejected:
            continue
        candidate, _created = DocumentCandidate.objects.get_or_create(
            product=product,
            url=verdict.link.url,
            defaults={"source": source},
        )
        if candidate.state != DocumentCandidate.State.PENDING:
            continue
        candidate.source = source
        candidate.page_url = verdict.page_url[:2000]
        candidate.link_text = (verdict.link.text or verdict.link.row)[:500]
        candidate.document_kind = verdict.kind or Manual.DocumentKind.OTHER
        candidate.language = verdict.language
        candidate.score = verdict.score
        candidate.reasons = verdict.reasons
        candidate.save()
        waiting += 1
    already = DocumentLink.objects.filter(product=product).exists()
    if attached or already:
        state, reason = Target.FOUND, ""
    elif waiting:
        state = Target.REVIEW
        reason = (
            f"Documents found for {product.name} on the vendor's site are waiting for a check "
            "by our staff."
        )
    else:
        state = Target.NOTHING
        host = urlsplit(source.url).netloc
        reason = f"The vendor's page on {host} lists no document for {product.name}."
    DiscoveryTarget.objects.filter(pk=target.pk).update(
        state=state, reason=reason, documents_found=attached, checked_at=now
    )


def _manual_for(verdict: Judgement, product: Product) -> Manual:
    manual, _created = Manual.objects.get_or_create(
        source_url=verdict.link.url,
        defaults={
            "title": _title(product, verdict),
            "document_kind": verdict.kind or Manual.DocumentKind.OTHER,
            "language": verdict.language,
            "kind": Manual.Kind.PDF,
        },
    )
    return manual


# --- The review queue -----------------------------------------------------------------------


def accept_candidate(*, candidate: DocumentCandidate, user: str) -> DocumentLink:
    """Staff say the link is this product's document: it is attached like a sure match."""
    with transaction.atomic():
        manual, _created = Manual.objects.get_or_create(
            source_url=candidate.url,
            defaults={
                "title": f"{candidate.product.name} {candidate.get_document_kind_display()}",
                "document_kind": candidate.document_kind,
                "language": candidate.language or "en",
                "kind": Manual.Kind.PDF,
            },
        )
        link = attach_document(
            manual=manual,
            product=candidate.product,
            origin=DocumentLink.Origin.DISCOVERY,
            provenance=f"{candidate.page_url or candidate.source or ''} · link "
            f"“{candidate.link_text}” · accepted by {user}",
        )
        DocumentCandidate.objects.filter(pk=candidate.pk).update(
            state=DocumentCandidate.State.ACCEPTED,
            manual=manual,
            decided_by=user,
            decided_at=timezone.now(),
        )
        DiscoveryTarget.objects.filter(product=candidate.product).exclude(
            state=Target.FOUND
        ).update(state=Target.FOUND, reason="")
    return link


def reject_candidate(*, candidate: DocumentCandidate, user: str) -> None:
    """Staff say no: the link is never attached to this product by discovery again."""
    DocumentCandidate.objects.filter(pk=candidate.pk).update(
        state=DocumentCandidate.State.REJECTED, decided_by=user, decided_at=timezone.now()
    )


# --- Where discovery starts -----------------------------------------------------------------


def why_no_documents(*, product: Product) -> str:
    """What to tell a customer about a product without documents; starts a run if none ran."""
    targets = list(DiscoveryTarget.objects.filter(product=product).select_related("source"))
    if not targets:
        return NO_CATALOG_DOCUMENT
    for target in targets:
        if target.state in (Target.PENDING, Target.FAILED):
            request_discovery(source_id=target.source_id)
    if any(t.state == Target.PENDING for t in targets):
        return LOOKING
    reasons = [t.reason for t in targets if t.reason]
    return reasons[0].rstrip(".") if reasons else NO_CATALOG_DOCUMENT


def hand_over_link_page(*, manual_id: int, token: str, original: Path) -> Manual | None:
    """When a fetched "manual" is a page of links, make it a discovery source instead.

    The products that used it get it as a source to search, lose it as a document, and a run
    is queued; the row stays, failed with a reason, so staff see what happened.
    """
    manual = Manual.objects.get(pk=manual_id)
    if not is_link_page(parse_page(original.read_bytes(), url=manual.source_url)):
        return None
    with transaction.atomic():
        source, _created = DiscoverySource.objects.get_or_create(url=manual.source_url)
        links = list(DocumentLink.objects.filter(manual=manual).select_related("family"))
        products = {link.product_id for link in links if link.product_id}
        for link in links:
            if link.family_id:
                products.update(link.family.products.values_list("pk", flat=True))
        for product_id in sorted(products):
            DiscoveryTarget.objects.get_or_create(
                source=source,
                product_id=product_id,
                defaults={"provenance": f"was linked as a manual (document {manual.pk})"},
            )
        DocumentLink.objects.filter(pk__in=[link.pk for link in links]).delete()
        documents_changed()
        manual = fail(manual_id, token, NOT_A_MANUAL, quiet=False)
        request_discovery(source_id=source.pk, force=True)
    logger.info("manual %s is a page of links; discovery source %s", manual_id, source.pk)
    return manual
