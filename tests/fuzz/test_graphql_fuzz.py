"""hypothesis-graphql against the schema the app serves: every Query and Mutation root field,
valid documents and documents with one schema violation, as every staff role, as an
associate of the other store, and anonymously. Every answer must be HTTP 200/400 (never
5xx), JSON, and every error must carry ``extensions.code`` other than
``INTERNAL_SERVER_ERROR`` (a masked unexpected exception is a bug)."""

from __future__ import annotations

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from tests.fuzz.conftest import EXAMPLES, PG_EXAMPLES, ROLE_LOGINS, FuzzService

pytestmark = pytest.mark.fuzz

ROLES = [*ROLE_LOGINS, "anonymous"]


def _sdl() -> str:
    from graphql_schema.schema import build_schema

    return str(build_schema())


SDL = _sdl()
_PARSED = graphql.build_schema(SDL)
ROOT_FIELDS = [
    name
    for root in (_PARSED.query_type, _PARSED.mutation_type)
    if root is not None
    for name in root.fields
]


def _has_arguments(field: str) -> bool:
    roots = (_PARSED.query_type, _PARSED.mutation_type)
    builtin = {"Int", "Float", "String", "Boolean", "ID"}
    for root in roots:
        if root is not None and field in root.fields:
            for arg in root.fields[field].args.values():
                if graphql.is_required_argument(arg) or graphql.get_named_type(arg.type).name in builtin:
                    return True
    return False


SCALARS = {
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "DateTime": st.datetimes().map(lambda d: nodes.String(d.isoformat() + "Z")),
    "JSON": st.one_of(st.text(max_size=20).map(nodes.String), st.integers().map(nodes.Int)),
}


def _check(response: httpx.Response, query: str) -> None:
    assert response.status_code < 500, f"{response.status_code} for:\n{query}\n{response.text[:2000]}"
    if response.status_code == 400 and not response.headers.get("content-type", "").startswith("application/json"):
        return  # strawberry's plain-text refusal of a body it cannot read
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, f"error without extensions.code: {error}\nfor:\n{query}"
        assert code != "INTERNAL_SERVER_ERROR", f"unexpected error at {error.get('path')}\nfor:\n{query}"


def _fuzz(svc: FuzzService, field: str, examples: int) -> None:
    documents = from_schema(SDL, fields=[field], custom_scalars=SCALARS, mode=Mode.POSITIVE, allow_x00=False)
    if _has_arguments(field):  # one schema violation needs an argument to violate
        documents = st.one_of(documents, from_schema(SDL, fields=[field], custom_scalars=SCALARS, mode=Mode.NEGATIVE, allow_x00=False))
    client = httpx.Client(base_url=svc.base_url, timeout=30)

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(query=documents, role=st.sampled_from(ROLES))
    def run(query: str, role: str) -> None:
        response = client.post("/graphql", json={"query": query}, headers=svc.headers(role))
        _check(response, query)

    try:
        run()
    finally:
        client.close()
    assert "Traceback" not in svc.output(), svc.output()[-4000:]


@pytest.mark.parametrize("field", ROOT_FIELDS)
def test_graphql_root_field_on_sqlite(sqlite_service: FuzzService, field: str) -> None:
    _fuzz(sqlite_service, field, EXAMPLES)


@pytest.mark.postgres
@pytest.mark.parametrize("field", ROOT_FIELDS)
def test_graphql_root_field_on_postgresql(postgres_service: FuzzService, field: str) -> None:
    _fuzz(postgres_service, field, PG_EXAMPLES)
