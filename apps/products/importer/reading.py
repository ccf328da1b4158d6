"""Finding catalog files, reading them, and merging ids that appear more than once."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from apps.products.importer.records import (
    ProductRecord,
    RecordError,
    clean_brand_name,
    normalize_brand_slug,
    parse_record,
    web_url,
)


class FileError(ValueError):
    """The whole file cannot be imported (unreadable, not JSON, wrong shape)."""


@dataclass(frozen=True)
class Rejection:
    file: str
    position: int | None
    id: str | None
    reason: str


@dataclass
class BrandRecord:
    slug: str
    fields: dict[str, Any]


@dataclass
class CatalogFile:
    path: str
    brands: list[BrandRecord] = field(default_factory=list)
    records: list[ProductRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Merge:
    catalog_id: str
    sources: list[tuple[str, int]]
    conflicts: dict[str, list[Any]]


def discover(paths: list[str]) -> list[str]:
    """Files as given, folders as their `*.json` files (recursively, in a stable order)."""
    found: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(str(p) for p in sorted(path.rglob("*.json")) if p.is_file())
        else:
            found.append(str(path))
    return list(dict.fromkeys(found))


def _load_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise FileError("file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(f"cannot read file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise FileError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None


def read_file(path: str, *, ceiling: Decimal) -> CatalogFile:
    """Parse one file; a file-level problem is kept in `error`, record problems as rejections."""
    result = CatalogFile(path=path)
    try:
        data = _load_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("products"), list):
            raise FileError('expected an object with a "products" list')
        identity = data.get("brand_identity")
        if identity is not None and not isinstance(identity, dict):
            raise FileError("brand_identity must be an object")
        file_brand = _brand(identity, result) if identity else None
    except FileError as exc:
        result.error = str(exc)
        return result

    for index, raw in enumerate(data["products"]):
        position = index + 1
        try:
            record = parse_record(
                raw, file=path, position=position, file_brand=file_brand, ceiling=ceiling
            )
        except RecordError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            result.rejections.append(
                Rejection(path, position, raw_id if isinstance(raw_id, str) else None, str(exc))
            )
            continue
        result.records.append(record)
    return result


def _brand(identity: dict[str, Any], result: CatalogFile) -> str:
    raw_id = identity.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise FileError("brand_identity has no id")
    try:
        slug = normalize_brand_slug(raw_id)
    except RecordError as exc:
        raise FileError(str(exc)) from None
    name = identity.get("name") if isinstance(identity.get("name"), str) else ""
    fields: dict[str, Any] = {"name": clean_brand_name(name, slug=slug)}
    if "website" in identity:
        fields["website"] = (web_url(identity.get("website")) or "")[:500]
    if isinstance(identity.get("description"), str):
        fields["description"] = identity["description"].strip()
    result.brands.append(BrandRecord(slug=slug, fields=fields))
    return raw_id


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def merge_duplicates(files: list[CatalogFile]) -> list[Merge]:
    """Fold records sharing an id into one, owned by the file that listed it last.

    Later files win field by field, but a blank never erases a value: the scraped listings
    repeat a product in a second brand file with its price or URL missing.
    """
    by_id: dict[str, list[ProductRecord]] = {}
    for catalog_file in files:
        for record in catalog_file.records:
            by_id.setdefault(record.catalog_id, []).append(record)

    merges: list[Merge] = []
    folded: set[int] = set()
    for catalog_id, group in by_id.items():
        if len(group) == 1:
            continue
        conflicts: dict[str, list[Any]] = {}
        for earlier, later in itertools.pairwise(group):
            conflicts.update(_fold(earlier, later))
            folded.add(id(earlier))
        merges.append(Merge(catalog_id, [(r.file, r.position) for r in group], conflicts))
    if folded:
        for catalog_file in files:
            catalog_file.records = [r for r in catalog_file.records if id(r) not in folded]
    return merges


def merge_brands(files: list[CatalogFile]) -> None:
    """Give every file naming a brand the same fields: later files win, blanks never erase.

    Otherwise two files of one brand would rewrite it back and forth on every import.
    """
    merged: dict[str, dict[str, Any]] = {}
    for catalog_file in files:
        for brand in catalog_file.brands:
            fields = merged.setdefault(brand.slug, {})
            fields.update((k, v) for k, v in brand.fields.items() if not _is_blank(v))
            for key, value in brand.fields.items():
                fields.setdefault(key, value)
    for catalog_file in files:
        for brand in catalog_file.brands:
            brand.fields = dict(merged[brand.slug])


_PRICE_KEYS = {"price", "raw_price", "currency", "needs_review", "review_reason"}


def _fold(earlier: ProductRecord, later: ProductRecord) -> dict[str, list[Any]]:
    """Fill `later`'s blanks from `earlier`; return the fields where both had a value."""
    conflicts: dict[str, list[Any]] = {}
    for key, value in earlier.fields.items():
        if key in _PRICE_KEYS:
            continue
        mine = later.fields.get(key)
        if _is_blank(mine):
            later.fields[key] = value
        elif not _is_blank(value) and value != mine:
            conflicts[key] = [str(value), str(mine)]
    if earlier.brand_slug != later.brand_slug:
        conflicts["brand"] = [earlier.brand_slug, later.brand_slug]
    _fold_price(earlier, later, conflicts)
    later.documentation = later.documentation or earlier.documentation
    later.aliases = list(dict.fromkeys([*later.aliases, *earlier.aliases]))
    later.relationships = list(dict.fromkeys([*later.relationships, *earlier.relationships]))
    later.warnings = [*earlier.warnings, *later.warnings]
    return conflicts


def _fold_price(earlier: ProductRecord, later: ProductRecord, conflicts: dict) -> None:
    """A usable price beats an implausible one, which beats none; later wins a tie."""
    mine, theirs = later.fields.get("price"), earlier.fields.get("price")
    if mine is not None:
        if theirs is not None and theirs != mine:
            conflicts["price"] = [str(theirs), str(mine)]
        return
    if theirs is not None or (earlier.flags and not later.flags):
        for key in _PRICE_KEYS:
            if key in earlier.fields:
                later.fields[key] = earlier.fields[key]
        later.flags = list(earlier.flags)
