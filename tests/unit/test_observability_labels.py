"""Label values of client-chosen names stay bounded and free of personal data."""

from __future__ import annotations

from clienteling.metrics import BoundedNames


def test_names_beyond_the_cap_are_counted_as_other() -> None:
    names = BoundedNames(cap=3)
    assert [names.label(f"Op{i}") for i in range(5)] == ["Op0", "Op1", "Op2", "other", "other"]
    assert names.label("Op1") == "Op1"  # a name already seen keeps its label


def test_known_names_keep_their_label_after_the_cap_is_reached() -> None:
    names = BoundedNames({"CustomerScreen"}, cap=1)
    names.label("Whatever")
    assert names.label("Another") == "other"
    assert names.label("CustomerScreen") == "CustomerScreen"


def test_malformed_or_missing_names_never_become_labels() -> None:
    names = BoundedNames(cap=100)
    assert names.label(None) == "anonymous" and names.label("") == "anonymous"
    assert names.label("ana.garcia@example.com") == "other"
    assert names.label("x" * 65) == "other"
