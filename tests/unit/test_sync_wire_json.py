"""The text a JSON column travels as on the sync wire (tablets keep it and compare it) is
byte for byte what the stdlib writes with sorted keys, compact separators and UTF-8, for
every value a synced JSON column can hold: strings (any code point, control characters,
quotes, backslashes, line separators), integers of any size, booleans, null, lists and
objects of them."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from clienteling.services.sync_views import _wire, canonical_json

leaves = st.one_of(st.text(), st.integers(), st.booleans(), st.none())
values = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


def _stdlib(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=500, deadline=None)
@given(values)
def test_canonical_json_is_the_stdlib_text(value: object) -> None:
    assert canonical_json(value) == _stdlib(value)


@settings(max_examples=200, deadline=None)
@given(values)
def test_a_json_column_read_back_as_text_travels_canonically(value: object) -> None:
    # piccolo hands JSON columns back as text, in whatever key order the database keeps.
    stored = json.dumps(value, indent=1, ensure_ascii=True)
    assert _wire("json", stored) == _stdlib(value)
    if value is not None and not isinstance(value, str):  # a string is the column's text; None its NULL
        assert _wire("json", value) == _stdlib(value)
    assert _wire("json", None) is None


def test_customer_columns_as_tablets_know_them() -> None:
    assert _wire("json", '{"shoe": "42", "dress": "M"}') == '{"dress":"M","shoe":"42"}'
    assert _wire("json", '["navy", "línea \\u2028"]') == '["navy","línea \u2028"]'
    assert _wire("json", "[]") == "[]"
