"""Schemathesis against the app's own OpenAPI document: every operation, as every staff role,
as an associate of the other store, and anonymously, with generated valid and invalid input.

No 5xx, and every answer must match what the document promises for that operation: the
status code is documented, the content type is the documented one, the body validates
against the documented schema. ``positive_data_acceptance`` is left out on purpose: many
rules cannot be written in JSON Schema (``endsAt`` after ``startsAt``, a cursor the server
issued, a reason of 15 characters for break-glass), so a schema-valid body may rightly get a
400; the reverse check (``negative_data_rejection``: schema-invalid input is never accepted)
runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import EXAMPLES, PG_EXAMPLES, ROLE_LOGINS, WEBHOOK_SECRET, FuzzService

pytestmark = pytest.mark.fuzz

# GraphQL has its own fuzzer (test_graphql_fuzz.py); its HTTP transport is strawberry's.
NOT_REST = {"/graphql"}
ROLES = [*ROLE_LOGINS, "anonymous"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _openapi() -> dict:
    """The document the app serves, built in-process (no database needed) so that routes
    added later are fuzzed without touching this file."""
    from api.app import create_app
    from api.settings import load_settings

    app = create_app(load_settings({"CLIENTELING_SECRET_KEY": "fuzz-collect-" + "k" * 32}), manage_database=False)
    return app.openapi_schema.to_schema()


SCHEMA = schemathesis.openapi.from_dict(_openapi())
OPERATIONS = [
    op.ok()
    for op in SCHEMA.get_all_operations()
    if op.ok().path not in NOT_REST
]


def _negative_in(case) -> set[str]:  # noqa: ANN001
    """The request parts schemathesis made schema-invalid on purpose."""
    meta = case.meta
    if meta is None:
        return set()
    return {loc.value for loc, info in meta.components.items() if info.mode == GenerationMode.NEGATIVE}


def _checks(case) -> list:  # noqa: ANN001
    # Unknown query parameters are ignored, as by most HTTP APIs; a request whose only
    # violation is in the query string is checked for everything but its rejection.
    if _negative_in(case) == {"query"}:
        return [c for c in CHECKS if c is not negative_data_rejection]
    return CHECKS


def _send(svc: FuzzService, client: httpx.Client, case, role: str, real_ids: bool, signed: bool) -> httpx.Response:  # noqa: ANN001
    if real_ids and "path" not in _negative_in(case):
        for name in list(case.path_parameters or {}):
            if svc.ids.get(name):
                case.path_parameters[name] = svc.ids[name][hash(str(case.path_parameters[name])) % len(svc.ids[name])]
    headers: dict[str, str] = {}
    if role != "anonymous":
        token = svc.fresh_token(role) if case.path == "/api/v1/auth/logout" else svc.tokens[role]
        headers["Authorization"] = f"Bearer {token}"
    kwargs = case.as_transport_kwargs(base_url=svc.base_url, headers=headers)
    content = None
    if "json" in kwargs:
        content = json.dumps(kwargs.pop("json")).encode()
    elif "data" in kwargs:
        data = kwargs.pop("data")
        content = data.encode() if isinstance(data, str) else data
    if signed and case.path.startswith("/api/v1/integrations/"):
        digest = hmac.new(WEBHOOK_SECRET.encode(), content or b"", hashlib.sha256).hexdigest()
        kwargs["headers"]["X-Clienteling-Signature"] = f"sha256={digest}"
    return client.request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params") or None,
        headers=kwargs["headers"], cookies=kwargs.get("cookies") or None, content=content,
    )


def _fuzz(svc: FuzzService, operation, examples: int) -> None:  # noqa: ANN001
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
    client = httpx.Client(timeout=30)

    @settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, role=st.sampled_from(ROLES), real_ids=st.booleans(), signed=st.booleans())
    def run(case, role: str, real_ids: bool, signed: bool) -> None:  # noqa: ANN001
        response = _send(svc, client, case, role, real_ids, signed)
        case.validate_response(response, checks=_checks(case))

    try:
        run()
    finally:
        client.close()
    assert "Traceback" not in svc.output(), svc.output()[-4000:]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_rest_operation_on_sqlite(sqlite_service: FuzzService, operation) -> None:  # noqa: ANN001
    _fuzz(sqlite_service, operation, EXAMPLES)


@pytest.mark.postgres
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_rest_operation_on_postgresql(postgres_service: FuzzService, operation) -> None:  # noqa: ANN001
    _fuzz(postgres_service, operation, PG_EXAMPLES)
