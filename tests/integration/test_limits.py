"""Request limits: GraphQL total cost, document size and introspection switch; body size;
page size on every REST collection (enumerated from the OpenAPI document, so new collections
are covered); sign-in throttling per address. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from tests.factories import FAST_PASSWORDS, PASSWORD, make_customer, make_staff, make_store
from tests.integration.conftest import login

COSTLY = "{ customers(first: 200) { edges { node { id notes(first: 200) { body pinned visibility } } } } }"


async def _hq(client: httpx.AsyncClient) -> tuple[dict[str, str], object]:
    store = await make_store()
    hq = await make_staff(role="hq_admin", stores=[store])
    return await login(client, hq["email"]), store


async def _gql(client: httpx.AsyncClient, query: str, headers: dict[str, str], variables: dict | None = None) -> dict:
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_graphql_operation_whose_list_sizes_multiply_past_the_cost_limit_is_refused(client) -> None:  # noqa: ANN001
    headers, _ = await _hq(client)
    body = await _gql(client, COSTLY, headers)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == 50_000


async def test_graphql_cost_counts_the_variables_sent(client) -> None:  # noqa: ANN001
    headers, store = await _hq(client)
    await make_customer(store=store)
    query = "query($n: Int!, $m: Int!) { customers(first: $n) { edges { node { id notes(first: $m) { body pinned visibility } } } } }"
    refused = await _gql(client, query, headers, {"n": 200, "m": 200})
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    allowed = await _gql(client, query, headers, {"n": 5, "m": 5})
    assert "errors" not in allowed and len(allowed["data"]["customers"]["edges"]) == 1


async def test_graphql_cost_limit_is_configurable(clean_db) -> None:  # noqa: ANN001
    settings = load_settings({
        "CLIENTELING_DATABASE_URL": clean_db.url, "CLIENTELING_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "CLIENTELING_GRAPHQL_MAX_COST": "100",
    })
    app = create_app(settings, passwords=FAST_PASSWORDS, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        headers, _ = await _hq(c)
        body = await _gql(c, "{ customers(first: 150) { edges { node { id } } } }", headers)
    assert body["errors"][0]["extensions"]["maxCost"] == 100


async def test_graphql_introspection_can_be_switched_off_for_production(clean_db) -> None:  # noqa: ANN001
    probe = "{ __schema { queryType { name } } }"
    env = {"CLIENTELING_DATABASE_URL": clean_db.url, "CLIENTELING_SECRET_KEY": "test-secret-key-" + "x" * 32}
    for value, allowed in (("true", True), ("false", False)):
        app = create_app(load_settings({**env, "CLIENTELING_GRAPHQL_INTROSPECTION": value}), passwords=FAST_PASSWORDS, manage_database=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            headers, _ = await _hq(c)
            body = await _gql(c, probe, headers)
            me = await _gql(c, "{ me { role } }", headers)
        assert me["data"]["me"]["role"] == "hq_admin"
        if allowed:
            assert body["data"]["__schema"]["queryType"]["name"] == "Query"
        else:
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_graphql_document_over_2000_tokens_is_refused(client) -> None:  # noqa: ANN001
    headers, _ = await _hq(client)
    body = await _gql(client, "{ me { " + "role " * 2100 + "} }", headers)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize("path", ["/api/v1/customers", "/graphql", "/api/v1/auth/login", "/api/v1/integrations/purchases"])
async def test_body_over_the_size_limit_is_413(client, path: str) -> None:  # noqa: ANN001
    headers, _ = await _hq(client)
    payload = b'{"x":"' + b"a" * (1_048_576 + 10) + b'"}'
    r = await client.post(path, content=payload, headers={**headers, "content-type": "application/json"})
    assert r.status_code == 413, (path, r.status_code, r.text[:200])
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"


def _collections(app) -> list[str]:  # noqa: ANN001
    """Every GET operation of the OpenAPI document that takes ``limit``."""
    doc = app.openapi_schema.to_schema()
    return [
        path
        for path, item in doc["paths"].items()
        if "get" in item and any(p["name"] == "limit" and p["in"] == "query" for p in item["get"].get("parameters", []))
    ]


async def test_every_collection_refuses_page_sizes_outside_1_to_200(app, client) -> None:  # noqa: ANN001
    hq, store = await _hq(client)
    compliance = await login(client, (await make_staff(role="compliance_officer"))["email"])
    customer = await make_customer(store=store)
    paths = _collections(app)
    assert len(paths) >= 8, paths
    wrong = []
    for template in paths:
        url = template.replace("{customer_id}", str(customer)).replace("{store_id}", str(store))
        # Whoever may read the collection (the audit trail is the compliance officers').
        headers = hq if (await client.get(url, headers=hq)).status_code != 403 else compliance
        for limit in ("0", "201", "-1", "1000000"):
            r = await client.get(url, params={"limit": limit}, headers=headers)
            if r.status_code != 400 or r.json().get("code") != "VALIDATION_FAILED":
                wrong.append(f"{template}?limit={limit}: {r.status_code} {r.text[:120]}")
        ok = await client.get(url, params={"limit": "200"}, headers=headers)
        if ok.status_code >= 500:
            wrong.append(f"{template}?limit=200: {ok.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_graphql_page_size_over_200_is_refused(client) -> None:  # noqa: ANN001
    headers, _ = await _hq(client)
    body = await _gql(client, "{ customers(first: 201) { edges { node { id } } } }", headers)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_sign_in_failures_from_one_address_are_throttled_across_accounts(client) -> None:  # noqa: ANN001
    """The per-address limit (50 in these tests) holds however many emails are tried, and
    then even a correct password from that address answers 429 with Retry-After."""
    store = await make_store()
    victim = await make_staff(role="associate", stores=[store])
    statuses = []
    for i in range(51):
        r = await client.post("/api/v1/auth/login", json={"email": f"guess{i}@example.test", "password": "wrong-password"})
        statuses.append(r.status_code)
    assert set(statuses[:50]) == {401} and statuses[50] == 429
    blocked = await client.post("/api/v1/auth/login", json={"email": victim["email"], "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json()["code"] == "TOO_MANY_REQUESTS"
    assert int(blocked.headers["retry-after"]) > 0
