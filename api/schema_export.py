"""The public contract as files: the GraphQL SDL and the OpenAPI document.

``clienteling schema export`` writes ``schema/schema.graphql`` and ``schema/openapi.json``;
``--check`` exits 1 when they differ from the code. A test compares the code's schema with
``schema/baseline.graphql`` (the last published contract) using graphql-core's
``find_breaking_changes``; a breaking change passes only when its description is listed in
``schema/accepted-breaking-changes.txt``. Publishing a release copies schema.graphql over
the baseline and empties that list."""

from __future__ import annotations

import json
from pathlib import Path

from graphql import build_schema as parse_sdl
from graphql import find_breaking_changes

__all__ = ["SCHEMA_DIR", "graphql_sdl", "openapi_document", "export", "breaking_changes", "accepted_breaking_changes"]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


def graphql_sdl() -> str:
    from graphql_schema.schema import build_schema

    return str(build_schema()).strip() + "\n"


def openapi_document() -> str:
    from api.app import create_app
    from api.settings import load_settings

    app = create_app(load_settings({"CLIENTELING_SECRET_KEY": "schema-export-" + "x" * 32}), manage_database=False)
    return json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True) + "\n"


def export(directory: Path = SCHEMA_DIR, *, check: bool = False) -> list[str]:
    """Write (or with ``check`` compare) the files; return the names that differ."""
    files = {"schema.graphql": graphql_sdl(), "openapi.json": openapi_document()}
    differ = []
    for name, content in files.items():
        path = directory / name
        current = path.read_text() if path.exists() else None
        if current != content:
            differ.append(name)
            if not check:
                directory.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    return differ


def breaking_changes(baseline_sdl: str, current_sdl: str) -> list[str]:
    """Descriptions of changes that break clients built against the baseline."""
    return sorted(f"{c.type.name}: {c.description}" for c in find_breaking_changes(parse_sdl(baseline_sdl), parse_sdl(current_sdl)))


def accepted_breaking_changes(directory: Path = SCHEMA_DIR) -> set[str]:
    path = directory / "accepted-breaking-changes.txt"
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}
