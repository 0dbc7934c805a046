"""domain.search: pg_trgm-compatible similarity, name matching and ranking, without I/O."""

from __future__ import annotations

import pytest

from domain.search import (
    EXACT,
    FIELD_EXACT,
    PHONE_PART,
    PREFIX,
    SearchSpec,
    match_score,
    name_score,
    names_alike,
    phone_pattern,
    similarity,
    trigrams,
)
from domain.text import name_key


def test_trigrams_are_padded_like_pg_trgm() -> None:
    # SELECT show_trgm('cat') -> {"  c"," ca","at ",cat}
    assert trigrams("cat") == {"  c", " ca", "cat", "at "}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    # values from PostgreSQL 15: SELECT similarity(a, b)
    [("popesku", "popescu", 0.4545), ("garsia", "garcia", 0.4), ("martines", "martinez", 0.6364), ("word", "two", 0.0)],
)
def test_similarity_is_pg_trgm_similarity(a: str, b: str, expected: float) -> None:
    assert similarity(a, b) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ("jose", "José", "Núñez"),
        ("nunez", "José", "Núñez"),
        ("stefan", "Ștefan", "Ionescu"),
        ("popesku", "Ion", "Popescu"),
        ("garsia", "María", "García"),
        ("martines", "Marta", "Martínez"),
        ("jose garcia", "José", "García"),
        ("mar gar", "María", "García"),
        ("ma", "Ana-María", "Moldovan"),
    ],
)
def test_names_that_match(query: str, first: str, last: str) -> None:
    assert name_score(query.split(), name_key(first, last)) > 0


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ("popesku", "Andrei", "Popa"),
        ("garcia", "Lucía", "Garrido"),
        ("marta martinez", "María", "Martínez"),  # martinez cannot stand for marta too
        ("jose garcia lopez", "José", "García"),  # every word must match
    ],
)
def test_names_that_do_not_match(query: str, first: str, last: str) -> None:
    assert name_score(query.split(), name_key(first, last)) == 0


def test_whole_words_rank_before_word_starts_before_typos() -> None:
    exact = name_score(["garcia"], "garcia ana")
    prefix = name_score(["garc"], "garcia ana")
    typo = name_score(["garsia"], "garcia ana")
    assert exact == EXACT - 1 and prefix == PREFIX - 1 and 0 < typo < prefix  # one unmatched word: ana


def test_among_equal_matches_the_name_with_fewer_other_words_ranks_first() -> None:
    assert name_score(["jose", "garcia"], "garcia jose") == EXACT
    assert name_score(["jose", "garcia"], "garcia martinez jose") > name_score(["jose", "garcia"], "garcia hernandez maria jose")


def test_names_alike_either_way_round() -> None:
    assert names_alike("garcia perez jose", "garcia jose")
    assert names_alike("garcia jose", "garsia perez jose")
    assert not names_alike("garrido jose", "garcia jose")


def test_phone_pattern_keeps_the_national_number() -> None:
    assert phone_pattern("0034612345678") == "612345678"
    assert phone_pattern("612345") == "612345"


def _spec(**kw) -> SearchSpec:  # noqa: ANN003
    base = {"terms": [], "digits": None, "email": None, "card": None, "allowed": {"email": "book", "phone": "scope", "first_name": "scope", "last_name": "scope"}}
    return SearchSpec(**(base | kw))


def test_match_score_counts_a_book_only_field_only_in_the_book() -> None:
    row = {"name_key": "vidal irene", "email_key": "irene@example.com", "phone_key": "34611222333", "card": None}
    spec = _spec(email="irene@example.com")
    assert match_score(spec, **row, in_book=False) == 0
    assert match_score(spec, **row, in_book=True) == FIELD_EXACT


def test_match_score_of_phone_whole_number_and_part() -> None:
    row = {"name_key": "vidal irene", "email_key": None, "phone_key": "34611222333", "card": None}
    assert match_score(_spec(digits="611222333"), **row, in_book=False) == FIELD_EXACT
    assert match_score(_spec(digits="222333"), **row, in_book=False) == PHONE_PART
    assert match_score(_spec(digits="999333"), **row, in_book=False) == 0


def test_match_score_ignores_names_when_the_caller_cannot_read_them() -> None:
    spec = _spec(terms=["irene"], allowed={})
    assert match_score(spec, name_key="vidal irene", email_key=None, phone_key=None, card=None, in_book=True) == 0
