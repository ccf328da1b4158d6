"""One catalog record, checked and normalized into what the database stores.

Nothing here touches the database, so every rule about a single record is testable alone.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.validators import slug_re
from django.utils.text import slugify

from apps.products.prices import price_problem
from hscjit.url_rules import InvalidUrl, catalog_url_problem, check_url, reserved_host

MAX_ID = 200
MAX_NAME = 300
MAX_CATEGORY = 120
MAX_SKU = 120
MAX_ALIAS = 200
MAX_RAW_PRICE = 64

# Catalog documentation types, as the kinds of manual the documents app stores.
DOC_KINDS = {"pdf": "pdf", "html": "html", "html_scrape": "html"}
RELATIONSHIP_KINDS = {"accessory", "related", "spare_part"}

# Marks an export left before a name ("' Boss BF-3", "/ Boss OS-2", "- Boss XS-1", a '"' that
# belongs after "12"). A leading "+" is kept: "+ HeadRush Sheeran Looper" is the Plus model.
_STRAY_LEAD = re.compile(r"^(?:[\"'/\-–]\s*)+")  # noqa: RUF001 - the en dash is a mark too
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


class RecordError(ValueError):
    """The record cannot be imported; the message is the reason shown to staff."""


@dataclass(frozen=True)
class Documentation:
    kind: str
    url: str = ""
    backup_url: str = ""
    file: str = ""
    # `html_scrape`: a vendor page that links to documents, read by discovery, not a manual.
    discover: bool = False


@dataclass(frozen=True)
class Relationship:
    kind: str
    target_id: str
    label: str


@dataclass
class ProductRecord:
    """A valid record. `fields` holds only the model fields the record sets."""

    catalog_id: str
    raw_id: str
    brand_slug: str
    file: str
    position: int
    fields: dict[str, Any]
    documentation: Documentation | None = None
    aliases: list[str] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Listed in a brand alias's file (a vendor site scrape such as `roland-blueprint`).
    from_brand_alias: bool = False


def normalize_id(raw: str) -> str:
    """A stable slug for a catalog id.

    Valid slugs are kept as they are (clients already use them). Anything else is slugified
    and suffixed with a hash of the original, so the result never depends on which other
    files are imported with it and cannot land on a valid id from elsewhere.
    """
    if len(raw) <= MAX_ID and slug_re.match(raw):
        return raw
    digest = hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:6]
    base = slugify(raw)[: MAX_ID - 7].strip("-_")
    return f"{base}-{digest}" if base else f"id-{digest}"


def normalize_brand_slug(raw: str) -> str:
    # Scraped brand files exist twice ("steinberg-" and "steinberg"): one brand, not two.
    slug = slugify(raw)
    if not slug:
        raise RecordError(f"brand id {raw!r} has no letters or digits")
    return slug[:120]


def clean_brand_name(raw: str, *, slug: str) -> str:
    name = " ".join(raw.split()).strip("-_ ")
    # "OSCAR-SCHMIDT-ACOUSTIC-GUITARS-" is an id shouted back as a name, not a name.
    if not name or (name.isupper() and " " not in name and "-" in name):
        name = slug.replace("-", " ").replace("_", " ").title()
    return name[:200]


def parse_price(raw: Any, *, ceiling: Decimal) -> tuple[Decimal | None, str | None]:
    """The price customers may see, and the reason when the raw value is implausible."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, bool):
        return None, f"price {raw!r} is not a number"
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            return None, f"price {raw!r} is not a number"
        value = Decimal(str(raw))
    elif isinstance(raw, str):
        text = raw.strip()
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None, f"price {raw!r} is not a number"
        if not value.is_finite():
            return None, f"price {raw!r} is not a number"
    else:
        return None, f"price of type {type(raw).__name__} is not a number"
    problem = price_problem(value, ceiling=ceiling)
    if problem is not None:
        return None, problem
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), None


def raw_price_text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw)[:MAX_RAW_PRICE]


def is_placeholder_url(url: str) -> bool:
    # Reserved names can never serve a manual: a product with one has no manual rather than
    # one that always fails.
    return reserved_host(url)


def web_url(value: Any) -> str | None:
    """An absolute http(s) URL, or None: other schemes must never reach an href."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return check_url(value)
    except InvalidUrl:
        return None


def _text(record: dict[str, Any], key: str, *, limit: int | None = None) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RecordError(f"{key} must be text, got {type(value).__name__}")
    text = " ".join(str(value).split()) if limit else str(value).strip()
    if limit is not None and len(text) > limit:
        raise RecordError(f"{key} is longer than {limit} characters")
    return text


def _documentation(value: Any, warnings: list[str]) -> Documentation | None:
    if not value:
        return None
    if not isinstance(value, dict):
        warnings.append("documentation is not an object; ignored")
        return None
    kind = DOC_KINDS.get(str(value.get("type", "")).lower())
    if kind is None:
        warnings.append(f"documentation type {value.get('type')!r} is unknown; ignored")
        return None
    file_name = value.get("file")
    if isinstance(file_name, str) and file_name.strip():
        return Documentation(kind=kind, file=file_name.strip())
    problem = catalog_url_problem(value.get("url"))
    if problem is not None:
        warnings.append(f"documentation URL {value.get('url')!r} {problem}; no manual linked")
        return None
    url = value["url"].strip()
    backup = web_url(value.get("backup_url")) or ""
    discover = str(value.get("type", "")).lower() == "html_scrape"
    return Documentation(kind=kind, url=url, backup_url=backup, discover=discover)


def _aliases(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise RecordError("aliases must be a list of strings")
    seen: dict[str, None] = {}
    for alias in value:
        text = " ".join(alias.split())
        if len(text) > MAX_ALIAS:
            raise RecordError(f"alias {text[:40]!r}... is longer than {MAX_ALIAS} characters")
        if text:
            seen.setdefault(text, None)
    return list(seen)


def _relationships(value: Any, warnings: list[str]) -> list[Relationship]:
    if not value:
        return []
    if not isinstance(value, list):
        warnings.append("relationships is not a list; ignored")
        return []
    out: list[Relationship] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("target_id"), str):
            warnings.append("a relationship without target_id was ignored")
            continue
        kind = str(item.get("type", "")).lower()
        if kind not in RELATIONSHIP_KINDS:
            warnings.append(f"relationship type {item.get('type')!r} is unknown; ignored")
            continue
        label = " ".join(str(item.get("label") or "").split())[:200]
        out.append(Relationship(kind=kind, target_id=normalize_id(item["target_id"]), label=label))
    return out


def parse_record(
    record: Any, *, file: str, position: int, file_brand: str | None, ceiling: Decimal
) -> ProductRecord:
    """Check one record of a catalog file; raises RecordError with the reason to report."""
    if not isinstance(record, dict):
        raise RecordError(f"record is a {type(record).__name__}, not an object")
    raw_id = record.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise RecordError("record has no id")
    typed = _text(record, "name", limit=MAX_NAME)
    name = _STRAY_LEAD.sub("", typed)
    if not name:
        raise RecordError("record has no name")
    brand_raw = record.get("brand") or file_brand
    if not isinstance(brand_raw, str) or not brand_raw.strip():
        raise RecordError("record has no brand, and the file names none")

    warnings: list[str] = []
    if name != typed:
        warnings.append(f"name {typed!r} began with stray punctuation; shown as {name!r}")
    fields: dict[str, Any] = {"name": name}
    for key, limit in (("category", MAX_CATEGORY), ("sku", MAX_SKU)):
        if key in record:
            fields[key] = _text(record, key, limit=limit)
    if "description" in record:
        fields["description"] = _text(record, "description")
    if "product_url" in record:
        url = web_url(record["product_url"])
        if url is None and record["product_url"]:
            warnings.append(f"product_url {record['product_url']!r} is not an http(s) URL; dropped")
        fields["product_url"] = url or ""
    images = record.get("images")
    if isinstance(images, dict):
        image = web_url(images.get("main"))
        if image is None and images.get("main"):
            warnings.append(f"image {images['main']!r} is not an http(s) URL; dropped")
        fields["image_url"] = image or ""
    specs = record.get("specs", record.get("specifications"))
    if isinstance(specs, dict):
        fields["specs"] = specs

    flags: list[str] = []
    if "price" in record:
        price, problem = parse_price(record["price"], ceiling=ceiling)
        fields["price"] = price
        fields["raw_price"] = raw_price_text(record["price"])
        if problem:
            flags.append(problem)
    currency = record.get("currency")
    if currency is not None or "price" in record:
        code = str(currency or "ILS").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            flags.append(f"currency {currency!r} is not a 3-letter code")
            fields["price"] = None
            code = "ILS"
        fields["currency"] = code
    fields["needs_review"] = bool(flags)
    fields["review_reason"] = "; ".join(flags)

    return ProductRecord(
        catalog_id=normalize_id(raw_id.strip()),
        raw_id=raw_id,
        brand_slug=normalize_brand_slug(brand_raw),
        file=file,
        position=position,
        fields=fields,
        documentation=_documentation(record.get("documentation"), warnings),
        aliases=_aliases(record.get("aliases")),
        relationships=_relationships(record.get("relationships"), warnings),
        flags=flags,
        warnings=warnings,
    )
