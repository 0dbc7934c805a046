"""docs/permissions.md shows the policy actually in force (reads the repository's doc)."""

from pathlib import Path

from permissions import load_default_policy
from permissions.docs import BEGIN, END, render_tables

DOC = Path(__file__).parents[2] / "docs" / "permissions.md"


def test_permissions_doc_tables_match_the_default_policy() -> None:
    text = DOC.read_text()
    block = text[text.index(BEGIN): text.index(END) + len(END)]
    assert block == render_tables(load_default_policy()), (
        "docs/permissions.md is out of date: regenerate its tables with `python -m permissions.docs`"
    )


def test_generated_tables_show_masking_in_book_and_consent_gates() -> None:
    tables = render_tables(load_default_policy())
    assert "| `email` | masked (own book: full) ✎ | full ✎ |" in tables
    assert "full ⟂ personalization" in tables and "full ⟂ marketing_email" in tables
