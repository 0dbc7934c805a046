"""Text normalisation for search."""

from __future__ import annotations

import pytest

from domain.text import fold, name_key, normalize_email, phone_digits, search_terms


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("José", "jose"), ("Ștefan", "stefan"), ("Şerban", "serban"), ("Núñez", "nunez"), ("Ionuț", "ionut"), ("Straße", "strasse"), ("Søren", "soren")],
)
def test_fold_removes_accents_and_lowercases(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_collapses_and_trims_whitespace() -> None:
    assert fold("  Ana \t  María ") == "ana maria"


def test_name_key_is_folded_last_then_first() -> None:
    assert name_key("José", "Núñez") == "nunez jose"


def test_phone_digits_keeps_only_digits() -> None:
    assert phone_digits("+34 612-345-678") == "34612345678"


def test_phone_digits_of_none_is_none() -> None:
    assert phone_digits(None) is None


def test_phone_digits_without_digits_is_none() -> None:
    assert phone_digits("n/a") is None


def test_normalize_email_trims_and_lowercases() -> None:
    assert normalize_email("  Ana.Garcia@Example.COM ") == "ana.garcia@example.com"


def test_normalize_email_of_none_is_none() -> None:
    assert normalize_email(None) is None


def test_search_terms_are_folded_words() -> None:
    assert search_terms("  José   NÚÑEZ ") == ["jose", "nunez"]


def test_search_terms_strip_like_wildcards_and_backslash() -> None:
    assert search_terms("ga%cía an_a b\\c") == ["ga", "cia", "an", "a", "b", "c"]


def test_search_terms_of_only_wildcards_are_empty() -> None:
    assert search_terms("% _ \\ %%") == []


def test_search_terms_are_capped_at_eight() -> None:
    assert search_terms("a b c d e f g h i j") == ["a", "b", "c", "d", "e", "f", "g", "h"]
