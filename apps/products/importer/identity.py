"""Product identity: which records of an import are one product, and which are variants of
one model (a family).

Everything here works on the records in memory and returns a plan; the writer applies it.
Rules, in order, all within one brand (a `-blueprint` brand file is the vendor's site scrape
of the brand of the same name):

1. Name repairs. A name that begins with "+" had its trailing "+" moved to the front by the
   shop's right-to-left editor ("+Akai Professional MPC ONE" is the MPC ONE+). A shop record
   whose name shares no model code with its own SKU and page address, while the address
   agrees with the SKU, had its name shifted from another row: it is renamed from the page
   address and flagged for review.
2. Duplicates. Records with the same model name (brand words left out) are one product when
   at most one of them is a shop listing of its own (a SKU or a product page), or when they
   share the SKU. A vendor record (no SKU, page or price) whose model code names exactly one
   model of the shop ("FP-E50" beside "Roland FP-E50") is that product. The shop listing is
   kept: its SKU, price and page; the vendor's description, category and documentation fill
   what it lacks.
3. Families. Separate shop listings of one model name (colours, finishes, sizes listed under
   the same name), and names that differ only in colour or finish words, "with/no motor", or
   an "-A" suffix on the model code, are variants: a family shares their documents. So are
   records that link one and the same document file (the vendor documents them as one).
4. Staff decisions win: a merge staff split is never made again.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.utils.text import slugify

from apps.products.importer.reading import CatalogFile
from apps.products.importer.records import ProductRecord
from apps.products.prediction.normalize import content_coded_tokens, content_tokens

BRAND_ALIAS_SUFFIXES = ("-blueprint",)

# Words that name a colour, finish or option of one model, not another model.
VARIANT_WORDS = frozenset(
    """black white red blue green grey gray silver gold natural brown pink purple orange
    yellow cherry walnut rosewood mahogany sunburst burst matte gloss glossy satin ebony ivory
    turquoise teal olive amber fade graphite chrome nickel brass metallic finish colour color
    motor bundle""".split()  # noqa: SIM905
)
# What a shop listing says when it has no description of its own.
_JUNK_DESCRIPTION = re.compile(r"\bcookies?\b", re.IGNORECASE)
_SKU_PREFIX = re.compile(r"^\d+-")
_ALNUM = re.compile(r"[^0-9a-z]+")
# A shop id: the brand, its number, the model ("boss_87-rc505mk2", "akai_professional_55_mpcone").
_SHOP_ID = re.compile(r"^.*?_\d+[-_]")


@dataclass
class Decision:
    """One line of the import report's identity section."""

    kind: str  # merged | family | kept_apart | renamed
    ids: list[str]
    reason: str
    kept: str = ""
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"decision": self.kind, "ids": self.ids, "reason": self.reason}
        if self.kept:
            out["kept"] = self.kept
        if self.name:
            out["name"] = self.name
        return out


@dataclass
class FamilyPlan:
    slug: str
    name: str
    brand_slug: str
    members: list[str]


@dataclass
class IdentityPlan:
    # merged-away catalog id -> the catalog id of the product it is merged into
    merged_into: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    families: dict[str, FamilyPlan] = field(default_factory=dict)
    family_of: dict[str, str] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    reported_splits: set[frozenset[str]] = field(default_factory=set)

    def count(self, kind: str) -> int:
        return sum(1 for d in self.decisions if d.kind == kind)


def alnum(text: str) -> str:
    return _ALNUM.sub("", text.lower())


_brand_word_cache: dict[tuple[str, str], frozenset[str]] = {}


def _brand_words(record: ProductRecord, brand_names: dict[str, str]) -> frozenset[str]:
    name = brand_names.get(record.brand_slug, "")
    key = (record.brand_slug, name)
    found = _brand_word_cache.get(key)
    if found is None:
        words = content_tokens(record.brand_slug.replace("-", " ")) + content_tokens(name)
        found = _brand_word_cache[key] = frozenset(words)
    return found


@dataclass
class _Listing:
    record: ProductRecord
    ordered: tuple[str, ...]  # model name tokens without brand words, in order
    key: tuple[str, ...]  # ... as a set (order and repeats make no other model)
    family_key: tuple[str, ...]  # ... without variant words or an "-A" suffix
    codes: frozenset[str]  # model codes the record is known by (alnum)

    @property
    def catalog_id(self) -> str:
        return self.record.catalog_id

    @property
    def is_shop(self) -> bool:
        fields = self.record.fields
        return bool(fields.get("sku") or fields.get("product_url"))

    @property
    def is_vendor(self) -> bool:
        fields = self.record.fields
        return not self.is_shop and fields.get("price") is None

    @property
    def sku(self) -> str:
        return alnum(self.record.fields.get("sku") or "")

    def keep_rank(self) -> tuple:
        """The listing a merge keeps: the shop's (SKU, page, price), then the shortest id."""
        fields = self.record.fields
        return (
            not fields.get("sku"),
            not fields.get("product_url"),
            fields.get("price") is None,
            self.record.from_brand_alias,
            len(self.catalog_id),
            self.catalog_id,
        )


def alias_brands(files: list[CatalogFile]) -> None:
    """Records and brand identities of a `<brand>-blueprint` file join `<brand>`."""
    known = {b.slug for f in files for b in f.brands} | {
        r.brand_slug for f in files for r in f.records
    }
    aliases = {
        slug: slug.removesuffix(suffix)
        for slug in known
        for suffix in BRAND_ALIAS_SUFFIXES
        if slug.endswith(suffix) and slug.removesuffix(suffix) in known
    }
    for catalog_file in files:
        for brand in catalog_file.brands:
            brand.slug = aliases.get(brand.slug, brand.slug)
        for record in catalog_file.records:
            record.from_brand_alias = record.brand_slug in aliases
            record.brand_slug = aliases.get(record.brand_slug, record.brand_slug)


def _model_code(name: str, brand_words: frozenset[str]) -> str:
    """The alnum model code of a name: its code tokens, else all its non-brand words."""
    return _code_of([(t, c) for t, c in content_coded_tokens(name) if t not in brand_words])


def _code_of(found: list[tuple[str, bool]]) -> str:
    codes = [t for t, c in found if c and t != "plus"]
    return "".join(codes) or "".join(t for t, _c in found)


def _sku_model(sku: str) -> str:
    return alnum(_SKU_PREFIX.sub("", sku.strip()))


def _page_slug(url: str) -> str:
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"^\d+-", "", last).strip("-").lower()


def _agreement(text: str, model: str) -> float:
    """The share of `model` (from its start) that `text` contains."""
    for end in range(len(model), 0, -1):
        if model[:end] in text:
            return end / len(model)
    return 0.0


def _name_from_page(slug: str, model: str) -> str:
    words = [w for w in slug.split("-") if w]
    best = (0, 0, 0)
    for start in range(len(words)):
        joined = ""
        for end in range(start, len(words)):
            joined += words[end]
            if not model.startswith(joined):
                break
            if len(joined) > best[0]:
                best = (len(joined), start, end + 1)
    _length, start, end = best

    def word(w: str) -> str:
        return w.upper() if any(ch.isdigit() for ch in w) or len(w) <= 2 else w.capitalize()

    head = [word(w) for w in words[:start]]
    code = "-".join(words[start:end]).upper() if end > start else ""
    tail = [word(w) for w in words[end:]]
    return " ".join(part for part in [*head, code, *tail] if part)


def repair_names(files: list[CatalogFile], plan: IdentityPlan, brand_names: dict[str, str]) -> None:
    for record in (r for f in files for r in f.records):
        name = record.fields["name"]
        if name.startswith("+") and len(name) > 1:
            fixed = f"{name[1:].strip()}+"
            _rename(
                record,
                fixed,
                "the name began with '+': the shop's right-to-left editor "
                "moved the model's trailing '+' to the front",
                flag=False,
            )
            plan.decisions.append(
                Decision(
                    "renamed",
                    [record.catalog_id],
                    "a leading '+' is the model's trailing '+' (a Plus model)",
                    name=fixed,
                )
            )
            name = fixed
        sku, url = record.fields.get("sku") or "", record.fields.get("product_url") or ""
        model = _sku_model(sku)
        if len(model) < 3 or not url:
            continue
        slug = _page_slug(url)
        page, own = _agreement(alnum(slug), model), _agreement(alnum(name), model)
        code = _model_code(name, _brand_words(record, brand_names))
        if page >= 0.6 and page > own and code and code not in alnum(slug):
            fixed = _name_from_page(slug, model)
            if not fixed:
                continue
            reason = (
                f"the name {name!r} shares no model code with its SKU {sku!r} and page "
                f"({slug}): renamed from the page address"
            )
            _rename(record, fixed, reason, flag=True)
            plan.decisions.append(Decision("renamed", [record.catalog_id], reason, name=fixed))


def _rename(record: ProductRecord, name: str, reason: str, *, flag: bool) -> None:
    old = record.fields["name"]
    record.fields["name"] = name[:300]
    if record.fields.get("description", "") == old:
        record.fields["description"] = record.fields["name"]
    record.warnings.append(reason)
    if flag:
        record.flags.append(reason)
        record.fields["needs_review"] = True
        record.fields["review_reason"] = "; ".join(record.flags)


def _listing(record: ProductRecord, brand_names: dict[str, str]) -> _Listing:
    brand_words = _brand_words(record, brand_names)
    coded = [(t, c) for t, c in content_coded_tokens(record.fields["name"]) if t not in brand_words]
    ordered = [t for t, _c in coded] or content_tokens(record.fields["name"])
    family = [t for t in ordered if t not in VARIANT_WORDS]
    if len(family) >= 2 and family[-1] == "a" and any(ch.isdigit() for ch in family[-2]):
        family.pop()
    # Word order and repeats do not make another model ("22\" Gathering Drum").
    key = tuple(sorted(set(ordered)))
    codes = {_code_of(coded)}
    if record.fields.get("sku"):
        codes.add(_sku_model(record.fields["sku"]))
    shop_id = _SHOP_ID.match(record.raw_id)
    if shop_id:
        codes.add(alnum(record.raw_id[shop_id.end() :]))
    elif record.raw_id.startswith(record.brand_slug + "-"):
        # A vendor id names the model after the brand ("roland-fp-e50", "nord-nord-drum-3p").
        codes.add(alnum(record.raw_id.removeprefix(record.brand_slug + "-")))
    family_key = tuple(sorted(set(family))) or key
    return _Listing(
        record, tuple(ordered), key, family_key, frozenset(c for c in codes if len(c) >= 3)
    )


def resolve(
    files: list[CatalogFile],
    *,
    brand_names: dict[str, str],
    split_pairs: set[frozenset[str]],
) -> IdentityPlan:
    """Decide merges and families for the records of `files` (brand aliases already applied)."""
    plan = IdentityPlan()
    repair_names(files, plan, brand_names)
    by_brand: dict[str, list[_Listing]] = defaultdict(list)
    for record in (r for f in files for r in f.records):
        by_brand[record.brand_slug].append(_listing(record, brand_names))
    for brand_slug in sorted(by_brand):
        listings = sorted(by_brand[brand_slug], key=lambda item: item.catalog_id)
        _merge_same_names(listings, plan, split_pairs)
        _merge_vendor_records(listings, plan, split_pairs)
        _families(brand_slug, listings, plan, split_pairs)
        _kept_apart(listings, plan)
    return plan


def _merge(kept: _Listing, merged: _Listing, reason: str, plan: IdentityPlan) -> None:
    plan.merged_into[merged.catalog_id] = kept.catalog_id
    plan.reasons[merged.catalog_id] = reason
    plan.decisions.append(
        Decision("merged", [kept.catalog_id, merged.catalog_id], reason, kept=kept.catalog_id)
    )


def _split(a: _Listing, b: _Listing, split_pairs: set[frozenset[str]], plan: IdentityPlan) -> bool:
    pair = frozenset((a.catalog_id, b.catalog_id))
    if pair in split_pairs:
        if pair not in plan.reported_splits:
            plan.reported_splits.add(pair)
            plan.decisions.append(
                Decision("kept_apart", [a.catalog_id, b.catalog_id], "staff split this merge")
            )
        return True
    return False


def _merge_same_names(
    listings: list[_Listing], plan: IdentityPlan, split_pairs: set[frozenset[str]]
) -> None:
    by_key: dict[tuple[str, ...], list[_Listing]] = defaultdict(list)
    for listing in listings:
        by_key[listing.key].append(listing)
    for group in by_key.values():
        if len(group) < 2:
            continue
        group.sort(key=_Listing.keep_rank)
        shops = [item for item in group if item.is_shop]
        kept = group[0]
        for other in group[1:]:
            if _split(kept, other, split_pairs, plan):
                continue
            if other.is_shop and kept.is_shop:
                if other.sku and other.sku == kept.sku:
                    _merge(kept, other, f"same model name and the same SKU {other.sku!r}", plan)
                continue
            reason = (
                "same model name; one shop listing"
                if len(shops) == 1
                else "same model name; neither is a shop listing of its own"
                if not shops
                else "same model name as the shop's listings"
            )
            _merge(kept, other, reason, plan)


def _merge_vendor_records(
    listings: list[_Listing], plan: IdentityPlan, split_pairs: set[frozenset[str]]
) -> None:
    remaining = [item for item in listings if item.catalog_id not in plan.merged_into]
    by_code: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    shops_by_code: dict[str, list[_Listing]] = defaultdict(list)
    for item in remaining:
        if item.is_shop:
            for code in item.codes:
                by_code[code].add(item.family_key)
                shops_by_code[code].append(item)
    for vendor in (item for item in remaining if item.is_vendor):
        models = {key for code in vendor.codes for key in by_code.get(code, ())}
        if len(models) != 1:
            continue
        candidates = {s.catalog_id: s for c in vendor.codes for s in shops_by_code.get(c, ())}
        kept = min(candidates.values(), key=_Listing.keep_rank)
        if kept.catalog_id in plan.merged_into or _split(kept, vendor, split_pairs, plan):
            continue
        code = sorted(vendor.codes & kept.codes)[0] if vendor.codes & kept.codes else ""
        _merge(kept, vendor, f"the vendor's record of the shop's model (model code {code!r})", plan)


def _families(
    brand_slug: str,
    listings: list[_Listing],
    plan: IdentityPlan,
    split_pairs: set[frozenset[str]],
) -> None:
    remaining = [item for item in listings if item.catalog_id not in plan.merged_into]
    groups: dict[tuple[str, ...], list[_Listing]] = defaultdict(list)
    for item in remaining:
        groups[("name", *item.family_key)].append(item)
    by_document: dict[str, list[_Listing]] = defaultdict(list)
    for item in remaining:
        doc = item.record.documentation
        # A shared HTML page is a brand's support index, not one model's manual.
        if doc is not None and doc.url and doc.kind == "pdf":
            by_document[doc.url].append(item)
    # Union the two groupings, so a model in both joins one family.
    parent: dict[str, str] = {item.catalog_id: item.catalog_id for item in remaining}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        # Listings staff split apart are not made variants of one family either.
        if frozenset((a, b)) not in split_pairs:
            parent[find(b)] = find(a)

    why: dict[str, str] = {}
    for group in groups.values():
        for item in group[1:]:
            join(group[0].catalog_id, item.catalog_id)
    for url, group in by_document.items():
        for item in group[1:]:
            join(group[0].catalog_id, item.catalog_id)
        if len(group) > 1:
            why[find(group[0].catalog_id)] = f"they link one document ({url})"
    members: dict[str, list[_Listing]] = defaultdict(list)
    for item in remaining:
        members[find(item.catalog_id)].append(item)
    for root, group in members.items():
        if len(group) < 2:
            continue
        base = min(group, key=lambda item: (len(item.family_key), len(item.key), item.catalog_id))
        words = base.family_key
        slug = slugify(f"{brand_slug} {' '.join(words)}")[:200] or slugify(root)[:200]
        name = _family_name(base)
        same = len({item.key for item in group}) == 1
        reason = why.get(root) or (
            "separate shop listings of one model name (colours, finishes or sizes)"
            if same
            else "names that differ only in colour, finish, option words or an '-A' suffix"
        )
        ids = sorted(item.catalog_id for item in group)
        plan.families[slug] = FamilyPlan(slug, name, brand_slug, ids)
        for catalog_id in ids:
            plan.family_of[catalog_id] = slug
        plan.decisions.append(Decision("family", ids, reason, name=name))
    for merged, kept in plan.merged_into.items():
        if kept in plan.family_of:
            plan.family_of[merged] = plan.family_of[kept]


def _family_name(base: _Listing) -> str:
    """The base listing's name without its variant words."""
    words = base.record.fields["name"].split()
    kept: list[str] = []
    for word, following in zip(words, [*words[1:], ""], strict=True):
        if alnum(word) in VARIANT_WORDS:
            continue
        if alnum(word) in {"no", "with", "without"} and alnum(following) in VARIANT_WORDS:
            continue
        kept.append(word)
    kept = kept or words
    name = " ".join(kept).strip(" -/")
    return name[:300]


# What makes a model code another model rather than a variant of it.
_MODEL_SUFFIX = re.compile(r"^(plus|mk\d+|pro|mini|max|x|s|xl|ex|se|hd|\d+)+$")


def _kept_apart(listings: list[_Listing], plan: IdentityPlan) -> None:
    """Report near-identical names judged different models (RC-505 and RC-505MKII)."""
    by_code: dict[str, _Listing] = {}
    for item in listings:
        if item.catalog_id in plan.merged_into:
            continue
        by_code.setdefault(alnum("".join(item.ordered)), item)
    codes = sorted(by_code)
    for shorter, longer in itertools.pairwise(codes):
        rest = longer[len(shorter) :] if longer.startswith(shorter) else ""
        if len(shorter) >= 3 and rest and _MODEL_SUFFIX.match(rest):
            a, b = by_code[shorter], by_code[longer]
            if plan.family_of.get(a.catalog_id, a.catalog_id) == plan.family_of.get(
                b.catalog_id, b.catalog_id
            ):
                continue
            plan.decisions.append(
                Decision(
                    "kept_apart",
                    [a.catalog_id, b.catalog_id],
                    f"{rest!r} names another model, not a colour or option",
                )
            )


def _is_placeholder_description(text: str, name: str) -> bool:
    # Shop listings repeat the name; vendor scrapes sometimes caught the cookie banner.
    return not text or text == name or bool(_JUNK_DESCRIPTION.search(text[:400]))


def fold_merges(files: list[CatalogFile], plan: IdentityPlan) -> None:
    """Give each kept record the best of the records merged into it.

    The kept (shop) record keeps its SKU, price and page; the vendor's description, category,
    documentation, specs and aliases fill in what it lacks.
    """
    records = {r.catalog_id: r for f in files for r in f.records}
    for merged_id, kept_id in sorted(plan.merged_into.items()):
        kept, merged = records[kept_id].fields, records[merged_id].fields
        mine, theirs = kept.get("description", ""), merged.get("description", "")
        if not _is_placeholder_description(theirs, merged["name"]) and (
            _is_placeholder_description(mine, kept["name"]) or len(theirs) > len(mine)
        ):
            kept["description"] = theirs
        if merged.get("category") and kept.get("category", "") in ("", "accessories"):
            kept["category"] = merged["category"]
        for key in ("sku", "product_url", "image_url"):
            if merged.get(key) and not kept.get(key):
                kept[key] = merged[key]
        if merged.get("specs"):
            kept["specs"] = {**merged["specs"], **kept.get("specs", {})}
        if kept.get("price") is None and merged.get("price") is not None:
            for key in ("price", "raw_price", "currency"):
                kept[key] = merged[key]
        records[kept_id].documentation = (
            records[kept_id].documentation or records[merged_id].documentation
        )
        records[kept_id].aliases = list(
            dict.fromkeys([*records[kept_id].aliases, *records[merged_id].aliases])
        )
