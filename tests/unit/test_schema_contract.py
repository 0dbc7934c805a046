"""The committed contract files match the code, and no unrecorded breaking change slips in."""

from __future__ import annotations

from api.schema_export import SCHEMA_DIR, accepted_breaking_changes, breaking_changes, export, graphql_sdl


def test_exported_schema_files_match_the_code() -> None:
    differ = export(check=True)
    assert differ == [], f"schema/{', schema/'.join(differ)} out of date: run `clienteling schema export`"


def test_no_unrecorded_breaking_change_against_the_baseline() -> None:
    baseline = (SCHEMA_DIR / "baseline.graphql").read_text()
    unrecorded = set(breaking_changes(baseline, graphql_sdl())) - accepted_breaking_changes()
    assert not unrecorded, (
        "breaking GraphQL changes; if deliberate, add these lines to schema/accepted-breaking-changes.txt:\n"
        + "\n".join(sorted(unrecorded))
    )


def test_removing_a_field_is_reported_as_breaking() -> None:
    sdl = graphql_sdl()
    without = sdl.replace("  loyaltyTier: String\n", "", 1)
    assert without != sdl
    assert any("loyaltyTier" in change for change in breaking_changes(sdl, without))


def test_adding_a_field_is_not_breaking() -> None:
    sdl = graphql_sdl()
    more = sdl.replace("type PageInfo {\n", "type PageInfo {\n  total: Int\n", 1)
    assert breaking_changes(sdl, more) == []
