"""Customer search rules: what a query asks for, and how well a customer matches it.

Matching and ranking are pure and run in Python on both databases, so SQLite and PostgreSQL
give the same results: the database only narrows the table to a bounded set of candidates
with an index (PostgreSQL ``pg_trgm``, SQLite FTS5 ``trigram``), and this module decides which
of them match and in what order.

A name term matches a word of the customer's folded name when it is the word, a prefix of it
(``mar`` -> ``maria``), or close to it by trigram similarity, computed exactly as PostgreSQL's
``pg_trgm`` ``similarity()`` computes it for two words (``popesku`` -> ``popescu`` 0.45,
``garsia`` -> ``garcia`` 0.40, ``martines`` -> ``martinez`` 0.64). Every term must match some
word of its own; word order does not matter. Scores are integers (0 = no match, 1000 = every
term is a whole word of a name with no other words), so cursors can carry them exactly.
"""

from __future__ import annotations

import re
from functools import lru_cache

import msgspec

__all__ = [
    "SearchSpec",
    "FUZZY_MIN_SIMILARITY",
    "EXACT",
    "PREFIX",
    "FIELD_EXACT",
    "PHONE_PART",
    "words",
    "trigrams",
    "similarity",
    "term_score",
    "name_score",
    "names_alike",
    "phone_pattern",
    "match_score",
]

# Below this pg_trgm similarity two words are unrelated. 0.35 keeps one-letter typos in
# names of five letters and more (garsia/garcia is 0.40) and refuses names that only share
# their first letters (popesku/popa is 0.30, garcia/garrido 0.25).
FUZZY_MIN_SIMILARITY = 0.35

EXACT = 1000  # the term is a whole word of the name, or an exact email / card / phone
PREFIX = 900  # the term starts a word of the name
FUZZY_SCALE = 800  # a close word scores similarity * 800 (at most 800, below any prefix)
FIELD_EXACT = EXACT
PHONE_PART = 800  # the digits are part of the phone number, not all of it

_WORD = re.compile(r"[^\W_]+")


class SearchSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed search: folded name terms, phone digits, an email, a card number, and which
    fields the caller may match on, each ``"scope"`` (every reachable record) or ``"book"``
    (only the caller's client book), from :func:`permissions.searchable_fields`."""

    terms: list[str]
    digits: str | None
    email: str | None
    card: str | None
    allowed: dict[str, str]

    @property
    def names_allowed(self) -> bool:
        return bool(self.terms) and self.allowed.get("first_name") == "scope" and self.allowed.get("last_name") == "scope"


def words(text: str) -> list[str]:
    """The words of a folded text as pg_trgm splits them: runs of letters and digits."""
    return _WORD.findall(text)


@lru_cache(maxsize=65536)
def trigrams(word: str) -> frozenset[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


def similarity(a: str, b: str) -> float:
    """pg_trgm ``similarity(a, b)`` for two single words: shared trigrams over all trigrams."""
    ta, tb = trigrams(a), trigrams(b)
    shared = len(ta & tb)
    return shared / (len(ta) + len(tb) - shared)


def term_score(term: str, name_words: list[str]) -> int:
    """How well one query word matches the best word of a name (0 when none is close)."""
    best = 0
    for w in name_words:
        if w == term:
            return EXACT
        if w.startswith(term):
            best = max(best, PREFIX)
        elif best < PREFIX:
            s = similarity(term, w)
            if s >= FUZZY_MIN_SIMILARITY:
                best = max(best, int(s * FUZZY_SCALE))
    return best


def name_score(terms: list[str], name_key: str) -> int:
    """The mean term score when every query word matches its own word of ``name_key``
    (two query words never share one name word, so ``marta martinez`` does not find
    *María Martínez* through ``martinez`` twice), else 0."""
    return _name_score(tuple(w for t in terms for w in words(t)), name_key)


@lru_cache(maxsize=65536)
def _name_score(query_words: tuple[str, ...], name_key: str) -> int:
    # Cached: a page of candidates repeats common names, and a shop's searches repeat.
    name_words = words(name_key)
    if not query_words or len(query_words) > len(name_words):
        return 0
    # Each name word left unmatched costs a point, so among equally good matches the
    # shorter name comes first ("jose garcia": José García before María José García Hernández).
    extra = len(name_words) - len(query_words)
    if len(query_words) == 1:
        score = term_score(query_words[0], name_words)
        return max(1, score - extra) if score else 0
    pairs = sorted(
        ((term_score(q, [w]), qi, wi) for qi, q in enumerate(query_words) for wi, w in enumerate(name_words)),
        reverse=True,
    )
    # Greedy assignment, best pair first: exact words before prefixes before typos.
    taken_q: set[int] = set()
    taken_w: set[int] = set()
    total = 0
    for score, qi, wi in pairs:
        if score == 0:
            break
        if qi in taken_q or wi in taken_w:
            continue
        taken_q.add(qi)
        taken_w.add(wi)
        total += score
    if len(taken_q) < len(query_words):
        return 0
    return max(1, total // len(query_words) - extra)


def names_alike(a: str, b: str) -> bool:
    """Two folded names that may be the same person: every word of one matches a word of
    the other (either way round, so a second surname or a shortened first name still
    counts)."""
    return name_score([a], b) > 0 or name_score([b], a) > 0


def phone_pattern(digits: str) -> str:
    """The digits a phone number must contain to match: the last nine of a longer number
    (the national number in Spain and Romania), so ``+34 612 345 678`` matches a phone
    stored without its country code and ``612 345 678`` one stored with it."""
    return digits[-9:] if len(digits) > 9 else digits


def match_score(spec: SearchSpec, *, name_key: str, email_key: str | None, phone_key: str | None, card: str | None, in_book: bool) -> int:
    """How well a customer matches a search (0 = not at all), counting only the fields the
    caller may match on for this customer (``in_book``: the caller's client book)."""

    def may(field: str) -> bool:
        where = spec.allowed.get(field)
        return where == "scope" or (where == "book" and in_book)

    best = name_score(spec.terms, name_key) if spec.names_allowed else 0
    if spec.email and email_key == spec.email and may("email"):
        best = max(best, FIELD_EXACT)
    if spec.card and card == spec.card and may("loyalty_number"):
        best = max(best, FIELD_EXACT)
    if spec.digits and len(spec.digits) >= 4 and phone_key and may("phone"):
        pattern = phone_pattern(spec.digits)
        if phone_key == spec.digits or (len(pattern) == 9 and phone_key.endswith(pattern)):
            best = max(best, FIELD_EXACT)
        elif pattern in phone_key:
            best = max(best, PHONE_PART)
    return best
