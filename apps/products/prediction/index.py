"""The in-memory prediction index: which catalog product does this text name?

Every product contributes one or more *entries* (its name, each alias, its SKU), each a set
of weighted tokens. A token's weight is its inverse document frequency, so model numbers
("600", "katana") count for much more than words that many names share ("bag", "cable").
A text is scored against the entries that share at least one token with it:

- coverage: the share of the entry's weight that the text contains (a product is found
  inside a whole sentence, because the sentence's other words cost it nothing);
- reach: the entry's matched weight relative to the best entry's, so when the text says
  "rc-505 mk2", RC-505MKII (all three tokens) beats RC-505 (two of them);
- the brand, when the text names one.

Nothing here touches the database: `build` takes plain records, and a prediction is a few
dictionary look-ups, so it runs on the event loop without blocking it for long.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from apps.products.prediction.bound import considered_text
from apps.products.prediction.hebrew import HebrewLexicon, has_hebrew, is_everyday_hebrew
from apps.products.prediction.normalize import (
    content_coded_tokens,
    content_tokens,
    content_typed_tokens,
    glued_tokens,
)
from apps.products.prediction.sounds import SoundMap
from apps.products.prediction.words import EVERYDAY_ZIPF, is_common_word

# Below this a candidate is not worth showing ("hello" shows nothing).
FLOOR = 0.35
# The top candidate is acted on only when it is this sure and this far ahead of the next.
CONFIDENT_SCORE = 0.8
CONFIDENT_MARGIN = 0.12
EXACT_MARGIN = 0.04
# ...or this far, when every close candidate's name is a part of the top one's: the text
# named all of the longer name ("Snare 14x6.5", not "Snare 14x5").
NARROWER_MARGIN = 0.015
# ...and when the text matched something distinctive: this share of the weight of a token
# that only one product has (a lone common word like "drum" or "bag" is not enough).
CONFIDENT_EVIDENCE = 0.45
# A last word of at most this many characters, still being typed, cannot alone make a
# prediction confident: it is more often the start of a longer word than a model code.
UNFINISHED_LENGTH = 2
# A typo-corrected token counts for less than one typed right; a typo that as many catalog
# words are as near to ("plat": plait, plate, play) counts for each of them, at less,
# and a typo with more than FUZZY_TIES such words counts for none. Words of FUZZY_LETTERS or
# more are corrected ("beeds" reads "beed" for Beads, since plurals are singular here).
FUZZY_STRENGTH = 0.85
FUZZY_TIED_STRENGTH = 0.5
FUZZY_TIES = 5
FUZZY_LETTERS = 4
# A fuzzy search scans the whole vocabulary; a name carries a typo or two. Only the last
# unknown words of a text get one, which bounds a text of random words to a few searches.
FUZZY_SEARCHES = 6
# How sure a catalog word is when a Hebrew word only sounds like it ("פלייטס", plaits).
SOUND_STRENGTH = 0.8
# The word being typed may be the start of a catalog word ("plai" for Plaits, "rc-60" for the
# RC-600): from this many letters (or digits), when at most MAX_COMPLETIONS words start so.
# A completion counts for the share of the word typed, and alone makes nothing confident.
COMPLETE_LETTERS = 3
COMPLETE_DIGITS = 2
MAX_COMPLETIONS = 20
# Letters of a model code up to this long name a product even when English uses them.
CODE_LETTERS = 3
_FUZZY_CACHE_SIZE = 50_000
_ANSWER_CACHE_SIZE = 20_000
_COVERAGE_SHARE = 0.6
_BRAND_BONUS = 0.12
# Names sometimes carry Hebrew descriptions ("גיטרה אקוסטית Oscar Schmidt OG2"); the model is
# in the Latin part, so a text that leaves the description out must still cover the name.
_OTHER_SCRIPT_FACTOR = 0.25
# A plain word of a name ("Acoustic", "Koa", "Drum Machine") counts for less than its model
# code: customers name the code and leave the description out.
_WORD_FACTOR = 0.5
# An accessory named after its product ("Case for WAZA-AIR", "ProFX12v3 Rack Ear Kit") yields
# to the product unless the text asks for the accessory.
ACCESSORY_WORDS = frozenset(
    {"case", "bag", "gigbag", "cover", "dust", "backpack", "strap", "rack", "ear", "bracket"}
    | {"mount", "holder", "trolley", "pouch", "cable", "adapter", "capo", "clamp", "stand"}
)
_ACCESSORY_FACTOR = 0.8
_COMPLETE = 0.999
# A text that names a Plus model or a generation ("one+", "mk2") is not about a name without
# it: "CR-Buds+" is not the CR-Buds, even though every word of "CR-Buds" was typed.
_MISSING_MARK_FACTOR = 0.9
_OTHER_BRAND_FACTOR = 0.85


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """What the index needs to know about one active product."""

    pk: int
    product_id: str
    name: str
    brand: str
    sku: str = ""
    aliases: tuple[str, ...] = ()
    # The product's family (its pk), and whether it stands for the family when the words
    # cannot tell its variants apart.
    family: int | None = None
    representative: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    product_id: str
    pk: int
    confidence: float
    confident: bool


@dataclass(frozen=True, slots=True)
class _Reading:
    """What `_resolve` read in a text."""

    # The index tokens the text contains, with how sure each match is.
    matched: dict[str, float]
    # The word of the text each token was matched by ("beeds" for "bead").
    typed: dict[str, str]
    brands: set[int]
    # The last word while it is still being typed and too short to name a model alone
    # ("...change mo" on the way to "model" is not the Boss MO-2), else "".
    tail: str
    # The text in the catalog's words (Hebrew names and wrong-layout typing rewritten).
    read: str
    # The catalog words the last word, still being typed, may be the start of.
    completed: frozenset[str]


@dataclass(slots=True)
class _Entry:
    product: int
    weights: dict[str, float]
    total: float
    accessory: frozenset[str]


class PredictionIndex:
    """An immutable index over one version of the catalog."""

    def __init__(
        self,
        records: Iterable[CatalogRecord],
        *,
        version: int = 0,
        cards: Mapping[int, dict[str, Any]] | None = None,
        lexicon: HebrewLexicon | None = None,
    ) -> None:
        self.version = version
        # Hebrew names and words, and wrong-layout typing, read as the catalog's Latin words.
        self._lexicon = lexicon or HebrewLexicon()
        # The protocol's product object of each product, by pk, read with the same catalog
        # version, so a prediction needs no query to describe what it found.
        self.cards: Mapping[int, dict[str, Any]] = cards or {}
        self._records: list[CatalogRecord] = []
        self._product_of: dict[int, int] = {}  # a product's position here, by pk
        self._brand_of: list[int] = []
        # Variants of one family compete as one candidate (see `_by_family`).
        self._group_of: list[int] = []
        self._representative: dict[int, int] = {}
        groups: dict[int, int] = {}
        brand_ids: dict[str, int] = {}
        self._brand_tokens: list[frozenset[str]] = []
        token_sets: list[tuple[int, dict[str, bool]]] = []
        self._joined: dict[str, tuple[str, str]] = {}
        # The letters of model codes ("qu" of Qu-16, "rc" of RC-600), which name a product
        # though English has them too.
        self._code_letters: set[str] = set()
        for record in records:
            product = len(self._records)
            self._records.append(record)
            self._product_of[record.pk] = product
            if record.family is None:
                self._group_of.append(-1 - product)
            else:
                group = groups.setdefault(record.family, len(groups))
                self._group_of.append(group)
                if record.representative or group not in self._representative:
                    self._representative[group] = product
            brand_key = " ".join(content_tokens(record.brand))
            if brand_key not in brand_ids:
                brand_ids[brand_key] = len(self._brand_tokens)
                self._brand_tokens.append(frozenset(brand_key.split()))
            brand = brand_ids[brand_key]
            self._brand_of.append(brand)
            for text in (record.name, *record.aliases, record.sku):
                ordered = self._entry_tokens(text, self._brand_tokens[brand])
                entry_tokens: dict[str, bool] = {}
                for token, code in ordered:
                    entry_tokens[token] = entry_tokens.get(token, False) or code
                    if code and token.isalpha() and len(token) <= CODE_LETTERS:
                        self._code_letters.add(token)
                if entry_tokens:
                    token_sets.append((product, entry_tokens))
                # "M•Caster", "GO:KEYS": customers write the two words as one.
                for (left, _), (right, _) in itertools.pairwise(ordered):
                    if left.isalpha() and right.isalpha():
                        self._joined.setdefault(left + right, (left, right))

        document_frequency: dict[str, int] = defaultdict(int)
        for _product, entry_tokens in token_sets:
            for token in entry_tokens:
                document_frequency[token] += 1
        count = max(1, len(token_sets))
        self._weight = {
            token: math.log(1 + count / frequency)
            * (1.0 if token.isascii() else _OTHER_SCRIPT_FACTOR)
            for token, frequency in document_frequency.items()
        }
        self._unique_weight = math.log(1 + count)
        self._entries: list[_Entry] = []
        self._entries_of: dict[int, list[int]] = defaultdict(list)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for product, entry_tokens in token_sets:
            weights = {
                token: self._weight[token] * (1.0 if code else _WORD_FACTOR)
                for token, code in entry_tokens.items()
            }
            for token, weight in weights.items():
                postings[token].append((len(self._entries), weight))
            accessory = ACCESSORY_WORDS.intersection(weights)
            self._entries_of[product].append(len(self._entries))
            self._entries.append(
                _Entry(product, weights, sum(weights.values()), frozenset(accessory))
            )
        self._postings = dict(postings)

        self._brand_by_token: dict[str, set[int]] = defaultdict(set)
        for brand, brand_tokens in enumerate(self._brand_tokens):
            for token in brand_tokens:
                if len(token) > 1:
                    self._brand_by_token[token].add(brand)
        self._brand_by_token = dict(self._brand_by_token)
        # What a word typed on the wrong keyboard layout may turn out to be (hebrew.py).
        self._known_words = frozenset(self._postings).union(self._brand_by_token)
        # Every catalog word in order, for the words that start with what is being typed.
        self._vocabulary = sorted(self._postings)
        # Typo correction looks only at words (digits are model numbers: 505 is not 500).
        self._words = sorted(
            token for token in self._postings if token.isalpha() and len(token) > 2
        )
        self._fuzzy_cache: dict[str, tuple[tuple[str, float], ...]] = {}
        # Catalog words a Hebrew word may spell by sound ("פלייטס" for Plaits, sounds.py).
        self._sounds = SoundMap(self._postings)
        self._answers: dict[tuple[str, int], tuple[Candidate, ...]] = {}

    def _narrower(self, other: int, first: int, best_entry: dict[int, int]) -> bool:
        """`other`'s best entry is a strict part of `first`'s: typing all of `first`
        names `first`, not `other`."""
        mine = self._entries[best_entry[first]].weights.keys()
        theirs = self._entries[best_entry[other]].weights.keys()
        return theirs < mine

    def _by_family(
        self,
        ranked: list[tuple[int, float]],
        complete: dict[int, bool],
        evidence: dict[int, float],
        best_entry: dict[int, int],
    ) -> list[tuple[int, float]]:
        """One candidate per family: its best variant when the words tell it from the other
        variants, else the family's representative (with the best variant's score)."""
        out: list[tuple[int, float]] = []
        seen: dict[int, int] = {}
        for product, score in ranked:
            group = self._group_of[product]
            if group < 0:
                out.append((product, score))
                continue
            if group in seen:
                position = seen[group]
                best, best_score = out[position]
                if best_score - score < EXACT_MARGIN and not (
                    complete.get(best, False)
                    and (
                        not complete.get(product, False)
                        or self._narrower(product, best, best_entry)
                    )
                ):
                    # The words fit this variant as well as the best one: name the family.
                    chosen = self._representative[group]
                    out[position] = (chosen, best_score)
                    if chosen != best:
                        complete[chosen] = complete.get(best, False)
                        evidence[chosen] = evidence[best]
                        best_entry[chosen] = best_entry[best]
                continue
            seen[group] = len(out)
            out.append((product, score))
        return out

    def _other_readings(
        self,
        read: str,
        first: int,
        others: list[tuple[int, float]],
        matched: dict[str, float],
        best_entry: dict[int, int],
    ) -> list[tuple[int, float]]:
        """What is offered beside a sure product (`first`): only other readings of the words
        that named it (the Katana-50 EX beside the Katana-50). "plaits how do i change the
        model" offers no Minimoog Model D, and a word typed as one is read whole: beside the
        N32B, the Qu-32 and the Aurora(n) 32 share only pieces of "n32b"."""
        named = self._entries[best_entry[first]].weights.keys() & matched.keys()
        words = [group & named for group in glued_tokens(read)]

        def reads(product: int) -> bool:
            theirs = self._entries[best_entry[product]].weights.keys()
            return bool(named & theirs) and all(word <= theirs for word in words if word & theirs)

        return [(product, score) for product, score in others if reads(product)]

    def _only_unfinished(self, tail: str, matched: dict[str, float], entry_id: int) -> bool:
        """The entry matched nothing but `tail`, a short word the customer is still typing."""
        return bool(tail) and self._entries[entry_id].weights.keys() & matched.keys() <= {tail}

    def _only_completed(
        self, completed: frozenset[str], matched: dict[str, float], entry_id: int
    ) -> bool:
        """The entry matched nothing but words the last word may be the start of."""
        return (
            bool(completed) and self._entries[entry_id].weights.keys() & matched.keys() <= completed
        )

    def __len__(self) -> int:
        return len(self._records)

    @staticmethod
    def _entry_tokens(text: str, brand_tokens: frozenset[str]) -> list[tuple[str, bool]]:
        """The entry's tokens in order, each flagged as part of a model code or not."""
        found = content_coded_tokens(text)
        without_brand = [(token, code) for token, code in found if token not in brand_tokens]
        # A product named only by its brand keeps the brand words as its name.
        return without_brand or found

    # --- reading the text ------------------------------------------------------------------

    def _resolve(self, text: str) -> _Reading:
        """What the text names in the catalog's words (see `_Reading`)."""
        read = self._lexicon.rewrite(text, self._known_words)
        typed_tokens = content_typed_tokens(read)
        found = [token for token, _typed in typed_tokens]
        matched: dict[str, float] = {}
        typed: dict[str, str] = {}
        brands: set[int] = set()

        def note(token: str, strength: float, word: str) -> None:
            if strength > matched.get(token, 0.0):
                matched[token] = strength
                typed[token] = word

        unknown = [position for position, token in enumerate(found) if token not in self._postings]
        searched = frozenset(unknown[-FUZZY_SEARCHES:])
        for position, (token, word) in enumerate(typed_tokens):
            brands.update(self._brand_by_token.get(token, ()))
            if token in self._postings:
                note(token, 1.0, word)
            elif has_hebrew(token) and not is_everyday_hebrew(word):
                sounded = self._sounds.word_for(token)
                if sounded is not None:
                    note(sounded, SOUND_STRENGTH, word)
            elif position in searched:
                for match, strength in self._near(token, word):
                    note(match, strength, word)
            # "key board" for "keyboard", "m caster" for "M•Caster".
            if position + 1 < len(found):
                joined = token + found[position + 1]
                if joined in self._postings:
                    note(joined, 1.0, joined)
        unfinished = found[-1] if found and text[-1:].isalnum() else ""
        completions = self._completions(unfinished)
        # Only the words nothing else matched as surely count as completed.
        completed = frozenset(
            token for token, strength in completions.items() if strength > matched.get(token, 0.0)
        )
        for token in completed:
            note(token, completions[token], typed_tokens[-1][1])
        tail = unfinished if len(unfinished) <= UNFINISHED_LENGTH else ""
        return _Reading(matched, typed, brands, tail, read, completed)

    def _completions(self, start: str) -> dict[str, float]:
        """The catalog words `start` may be the beginning of, each about as sure as the share of
        it typed; none when `start` is too short or too many words begin with it."""
        if not (start.isdigit() and len(start) >= COMPLETE_DIGITS) and not (
            start.isascii() and start.isalpha() and len(start) >= COMPLETE_LETTERS
        ):
            return {}
        # A catalog word typed whole ("oaceftb" of the OACEFTB) is more likely that word than
        # the start of a longer one (the OACEFTBL): its completions count half.
        factor = 0.5 if start in self._postings else 1.0
        found: dict[str, float] = {}
        position = bisect.bisect_right(self._vocabulary, start)
        while position < len(self._vocabulary) and self._vocabulary[position].startswith(start):
            if len(found) == MAX_COMPLETIONS:
                return {}
            word = self._vocabulary[position]
            found[word] = factor * min(FUZZY_STRENGTH, len(start) / len(word))
            position += 1
        return found

    def _near(self, token: str, typed: str) -> tuple[tuple[str, float], ...]:
        """Index tokens an unknown token (`typed` so) probably means: two words written as
        one, or a typo."""
        cached = self._fuzzy_cache.get(typed)
        if cached is not None:
            return cached
        found: list[tuple[str, float]] = []
        joined = self._joined.get(token)
        if joined is not None:
            found.extend((part, 1.0) for part in joined if part in self._postings)
        if not found and token.isalpha() and len(token) >= FUZZY_LETTERS:
            found.extend(self._typo_of(token, typed))
        result = tuple(found)
        if len(self._fuzzy_cache) >= _FUZZY_CACHE_SIZE:
            self._fuzzy_cache.clear()
        self._fuzzy_cache[typed] = result
        return result

    def _typo_of(self, token: str, typed: str) -> list[tuple[str, float]]:
        """The catalog words nearest `token` within a typo or two, unless it was typed as a
        common word ("plats" is not, though "plat" is)."""
        if is_common_word(typed, "en"):
            return []
        distance = 1 if len(token) < 8 else 2
        near = process.extract(
            token, self._words, scorer=OSA.distance, score_cutoff=distance, limit=FUZZY_TIES + 1
        )
        if not near:
            return []
        closest = min(score for _word, score, _position in near)
        tied = [word for word, score, _position in near if score == closest]
        if len(tied) > FUZZY_TIES:
            return []
        strength = FUZZY_STRENGTH if len(tied) == 1 else FUZZY_TIED_STRENGTH
        return [(word, strength) for word in tied]

    # --- scoring ---------------------------------------------------------------------------

    def predict(self, text: str, *, limit: int = 5, beside_focus: bool = False) -> list[Candidate]:
        """The products the text may name, best first. `beside_focus`: the customer already
        has a product in focus, so only products a word of the text names are offered, or put
        in focus: a model number, a brand, a word its language does not commonly use
        ("katana", "looper"), or the whole name ("beads"); not the "knob" or "midi channel"
        of a question about the product in focus."""
        text = considered_text(text)  # bounds the cost of one prediction (bound.py)
        # Customers type the same prefixes ("r", "rc", "rc 6"...): answer those from memory.
        key = (text, limit, beside_focus)
        cached = self._answers.get(key)
        if cached is None:
            cached = tuple(self._predict(text, limit, beside_focus))
            if len(self._answers) >= _ANSWER_CACHE_SIZE:
                self._answers.clear()
            self._answers[key] = cached
        return list(cached)

    def _naming_tokens(self, reading: _Reading) -> set[str]:
        """The matched tokens that name a product on their own: model codes ("600", "mk2",
        the "qu" of Qu-16 but not the everyday "mix" of MIX5) and words typed as words their
        language does not commonly use. A word still being typed is judged by the catalog
        word it may become: "whi" on its way to "white" names nothing."""
        named: set[str] = set()
        for token, typed in reading.typed.items():
            word = token if token in reading.completed else typed
            if (
                not token.isalpha()
                or (token in self._code_letters and not is_common_word(word, "en", EVERYDAY_ZIPF))
                or not is_common_word(word, "he" if has_hebrew(word) else "en")
            ):
                named.add(token)
        return named

    def only_names(self, text: str, pk: int) -> bool:
        """Whether every word of the text is a word of product `pk`'s names, as typed or
        misspelled ("beads", "mutable beeds", "ביידס"): a reply that names it, not a question."""
        own = self._product_of.get(pk)
        if own is None:
            return False
        names = set(self._brand_tokens[self._brand_of[own]])
        for entry in self._entries_of[own]:
            names.update(self._entries[entry].weights)
        typed = content_tokens(text)
        if typed and names.issuperset(typed):  # its name as the catalog writes it
            return True
        reading = self._resolve(text)
        words = content_typed_tokens(reading.read)
        named = {word for token, word in reading.typed.items() if token in names}
        return bool(words) and all(token in names or word in named for token, word in words)

    def names_other_brand(self, text: str, pk: int) -> bool:
        """Whether the text names a brand that product `pk` is not of ("roland td17 how to
        connect" while the Plaits is in focus). A brand is named when every word of its name is
        in the text and one of them is not an everyday English word: "boss" or "audio" alone
        name no brand."""
        reading = self._resolve(text)
        brands = reading.brands
        own = self._product_of.get(pk)
        if not brands or own is None:
            return False
        tokens = set(content_tokens(reading.read))
        return any(
            brand != self._brand_of[own]
            and self._brand_tokens[brand] <= tokens
            and not all(
                is_common_word(token, "en", EVERYDAY_ZIPF) for token in self._brand_tokens[brand]
            )
            for brand in brands
        )

    def suggest(self, text: str, *, limit: int = 5) -> list[Candidate]:
        """Products to offer when a question names none for sure: what `predict` finds, else
        the products of the brand the text names ("my Lumenvale"), those with a manual first.
        """
        found = self.predict(text, limit=limit)
        if found:
            return found
        brands = self._resolve(text).brands
        if not brands:
            return []
        named = [product for product, brand in enumerate(self._brand_of) if brand in brands]
        named.sort(
            key=lambda product: (
                not (self.cards.get(self._records[product].pk) or {}).get("manual"),
                self._records[product].name,
            )
        )
        return [
            Candidate(
                product_id=self._records[product].product_id,
                pk=self._records[product].pk,
                confidence=0.0,
                confident=False,
            )
            for product in named[:limit]
        ]

    def _predict(self, text: str, limit: int, beside_focus: bool) -> list[Candidate]:
        reading = self._resolve(text)
        matched, brands = reading.matched, reading.brands
        if not matched:
            return []
        # Two sums per entry: its own weights (how much of the name the text covers), and
        # plain token weights (how much of what the text names this entry explains).
        gained: dict[int, float] = defaultdict(float)
        explained: dict[int, float] = defaultdict(float)
        # How distinctive the matched words are, however surely each was matched: a sure
        # name spelled by sound ("פלייטס") is as distinctive as "plaits" typed.
        distinctive: dict[int, float] = defaultdict(float)
        for token, strength in matched.items():
            plain = self._weight[token] * strength
            for entry, weight in self._postings[token]:
                gained[entry] += weight * strength
                explained[entry] += plain
                distinctive[entry] += weight
        best_explained = max(explained.values())
        marks = {t for t in matched if t == "plus" or (t[:2] == "mk" and t[2:].isdigit())}

        scores: dict[int, float] = {}
        evidence: dict[int, float] = {}
        complete: dict[int, bool] = {}
        best_entry: dict[int, int] = {}
        for entry_id, gain in gained.items():
            entry = self._entries[entry_id]
            coverage = gain / entry.total
            reach = explained[entry_id] / best_explained
            score = _COVERAGE_SHARE * coverage + (1 - _COVERAGE_SHARE) * reach
            if entry.accessory and entry.accessory.isdisjoint(matched):
                score *= _ACCESSORY_FACTOR
            if marks and not marks <= entry.weights.keys():
                score *= _MISSING_MARK_FACTOR
            if brands:
                if self._brand_of[entry.product] in brands:
                    score = score * (1 - _BRAND_BONUS) + _BRAND_BONUS
                else:
                    score *= _OTHER_BRAND_FACTOR
            if score > scores.get(entry.product, 0.0):
                scores[entry.product] = score
                evidence[entry.product] = distinctive[entry_id]
                complete[entry.product] = coverage >= _COMPLETE
                best_entry[entry.product] = entry_id

        ranked = sorted(scores.items(), key=lambda item: (-item[1], self._records[item[0]].name))
        ranked = self._by_family(ranked, complete, evidence, best_entry)
        ranked = [(product, score) for product, score in ranked if score >= FLOOR][:limit]
        if beside_focus:
            # Not even a sure match of everyday words moves the focus ("which knob sends cc":
            # not the Big Knob, nor the CC-10), unless they are the whole name ("beads").
            naming = self._naming_tokens(reading)
            ranked = [
                (product, score)
                for product, score in ranked
                if complete[product]
                or self._brand_of[product] in brands
                or naming & self._entries[best_entry[product]].weights.keys()
            ]
        if not ranked:
            return []
        first, top_score = ranked[0]
        second_score = ranked[1][1] if len(ranked) > 1 else 0.0
        margin = top_score - second_score
        # Every word of the top name was typed and not every word of the next one (or the
        # next one's words are a part of it): that is the exact model (Katana-50 Gen 3, not
        # Katana-50 EX Gen 3; Emperor Vintage Coated 12", not Emperor Coated 12"), even when
        # close.
        close = [other for other, score in ranked[1:] if top_score - score < CONFIDENT_MARGIN]
        exact = complete.get(first, False) and not any(
            complete.get(other, False) and not self._narrower(other, first, best_entry)
            for other in close
        )
        narrower = exact and all(self._narrower(other, first, best_entry) for other in close)
        confident_first = (
            top_score >= CONFIDENT_SCORE
            and (
                margin >= CONFIDENT_MARGIN
                or (exact and margin >= EXACT_MARGIN)
                or (narrower and margin >= NARROWER_MARGIN)
            )
            and evidence.get(first, 0.0) >= CONFIDENT_EVIDENCE * self._unique_weight
            and not self._only_unfinished(reading.tail, matched, best_entry[first])
            and not self._only_completed(reading.completed, matched, best_entry[first])
        )
        if confident_first:
            others = self._other_readings(reading.read, first, ranked[1:], matched, best_entry)
            ranked = [ranked[0], *others]
        candidates: list[Candidate] = []
        for rank, (product, score) in enumerate(ranked):
            record = self._records[product]
            candidates.append(
                Candidate(
                    product_id=record.product_id,
                    pk=record.pk,
                    confidence=round(min(1.0, score), 3),
                    confident=rank == 0 and confident_first,
                )
            )
        return candidates
