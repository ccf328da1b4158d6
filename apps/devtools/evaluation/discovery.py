"""Discovery scored on the loopback vendor sites (vendor_sites.py): `manage.py eval_discovery`.

The catalog products and their discovery sources are created in the current database,
discovery runs on each source page once, and what was attached is compared with what each
product should have got. Run inside a transaction the caller rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from apps.devtools.evaluation.vendor_sites import BRANDS, VendorSites
from apps.manuals.models import DiscoverySource, DiscoveryTarget, DocumentCandidate, DocumentLink
from apps.manuals.services.discovery import run_discovery
from apps.products.models import Brand, Product


@dataclass
class ProductResult:
    name: str
    expected: set[str]
    attached: set[str]
    review: int
    reason: str

    @property
    def right(self) -> bool:
        return self.attached == self.expected


@dataclass
class DiscoveryScore:
    products: list[ProductResult] = field(default_factory=list)
    pages_read: int = 0
    # Attached documents that belong to another model of the sites.
    other_models: list[tuple[str, str]] = field(default_factory=list)

    @property
    def right_share(self) -> float:
        return sum(p.right for p in self.products) / len(self.products)

    @property
    def precision(self) -> float:
        attached = sum(len(p.attached) for p in self.products)
        good = sum(len(p.attached & p.expected) for p in self.products)
        return good / attached if attached else 1.0

    @property
    def recall(self) -> float:
        expected = sum(len(p.expected) for p in self.products)
        good = sum(len(p.attached & p.expected) for p in self.products)
        return good / expected if expected else 1.0


def evaluate(sites: VendorSites) -> DiscoveryScore:
    """Run discovery over `sites` (already served) and score it."""
    brands = {
        slug: Brand.objects.get_or_create(slug=f"eval-{slug}", defaults={"name": name})[0]
        for slug, name in BRANDS.items()
    }
    products: dict[str, Product] = {}
    for model in sites.catalog():
        product = Product.objects.create(
            catalog_id=f"eval-{model.catalog_id}", name=model.name, brand=brands[model.brand]
        )
        products[model.catalog_id] = product
        source, _ = DiscoverySource.objects.get_or_create(url=sites.url(sites.source_path(model)))
        DiscoveryTarget.objects.create(source=source, product=product, provenance="eval")
    score = DiscoveryScore()
    urls = {sites.url(sites.source_path(m)) for m in sites.catalog()}
    for source in DiscoverySource.objects.filter(url__in=urls):
        report = run_discovery(source_id=source.pk)
        score.pages_read += report.pages_read
    languages = set(settings.DISCOVERY_LANGUAGES)
    owner_of = {sites.url(sites._doc_path(m, d)): m.name for m in sites.models for d in m.docs}
    for model in sites.catalog():
        product = products[model.catalog_id]
        attached = set(
            DocumentLink.objects.filter(
                product=product, origin=DocumentLink.Origin.DISCOVERY
            ).values_list("manual__source_url", flat=True)
        )
        expected = sites.expected(model, languages)
        target = DiscoveryTarget.objects.get(product=product)
        score.products.append(
            ProductResult(
                name=model.name,
                expected=expected,
                attached=attached,
                review=DocumentCandidate.objects.filter(product=product).count(),
                reason=target.reason,
            )
        )
        owner = sites._by_id(model.same_as).name if model.same_as else model.name
        score.other_models += [
            (model.name, owner_of.get(url, url))
            for url in attached - expected
            if owner_of.get(url) not in (None, owner)
        ]
    return score
