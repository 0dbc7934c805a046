"""Opaque cursors and page limits."""

from __future__ import annotations

import pytest

from domain.errors import ValidationFailed
from domain.pagination import check_limit, decode_cursor, encode_cursor


def test_cursor_round_trips() -> None:
    key = ["nunez jose", "0b9c1f7e-3c7a-4d8e-9a55-2a3e5f6d7c8b", 42]
    assert decode_cursor(encode_cursor(key), 3) == key


def test_cursor_is_url_safe_without_padding() -> None:
    cursor = encode_cursor(["ñ?>" * 7])
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor


@pytest.mark.parametrize("garbage", ["", "!!!!", "not a cursor", "eyJh", "bnVsbA"])
def test_decode_of_garbage_is_validation_failed(garbage: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(garbage, 1)
    assert info.value.extra == {"field": "cursor"}


def test_decode_with_wrong_arity_is_validation_failed() -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor(["a", 1]), 3)


def test_decode_of_non_scalar_key_is_validation_failed() -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor([{"a": 1}]), 1)


def test_decode_of_json_object_is_validation_failed() -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor({"a": 1}), 1)  # type: ignore[arg-type]


def test_check_limit_defaults_to_50() -> None:
    assert check_limit(None) == 50


@pytest.mark.parametrize("limit", [1, 200])
def test_check_limit_accepts_bounds(limit: int) -> None:
    assert check_limit(limit) == limit


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_check_limit_refuses_out_of_range(limit: int) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_limit(limit)
    assert info.value.extra == {"field": "limit"}
