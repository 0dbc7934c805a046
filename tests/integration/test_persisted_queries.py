"""Automatic persisted queries (Apollo protocol) and the allow-list mode."""

from __future__ import annotations

import hashlib
import json

import httpx
import msgspec

from api.app import create_app
from tests.factories import FAST_PASSWORDS, make_staff, make_store
from tests.integration.conftest import login

QUERY = "query Me { me { email role } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
PQ = {"persistedQuery": {"version": 1, "sha256Hash": HASH}}


async def _headers(client) -> dict:  # noqa: ANN001
    store = await make_store()
    return await login(client, (await make_staff(role="associate", stores=[store]))["email"])


async def test_unknown_hash_then_register_then_run_by_hash(client) -> None:
    headers = await _headers(client)
    r = (await client.post("/graphql", json={"extensions": PQ}, headers=headers)).json()
    assert r["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    r = (await client.post("/graphql", json={"query": QUERY, "extensions": PQ}, headers=headers)).json()
    assert r["data"]["me"]["role"] == "associate"
    r = (await client.post("/graphql", json={"extensions": PQ}, headers=headers)).json()
    assert r["data"]["me"]["role"] == "associate"


async def test_persisted_query_runs_over_get(client) -> None:
    headers = await _headers(client)
    await client.post("/graphql", json={"query": QUERY, "extensions": PQ}, headers=headers)
    r = await client.get("/graphql", params={"extensions": json.dumps(PQ)}, headers=headers | {"Accept": "application/json"})
    assert r.status_code == 200 and r.json()["data"]["me"]["role"] == "associate"


async def test_a_hash_that_does_not_match_the_query_is_refused(client) -> None:
    headers = await _headers(client)
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    r = (await client.post("/graphql", json={"query": QUERY, "extensions": wrong}, headers=headers)).json()
    assert r["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH" and r["data"] is None


async def test_mutations_are_not_accepted_over_get(client) -> None:
    headers = await _headers(client)
    r = await client.get("/graphql", params={"query": 'mutation { addNote(customerId: "x", input: {body: "x"}) { id } }'}, headers=headers | {"Accept": "application/json"})
    assert r.status_code == 400 and "not allowed" in r.text


async def test_allowlist_mode_runs_only_listed_operations(settings, tmp_path) -> None:  # noqa: ANN001
    allowlist = tmp_path / "allowlist.json"
    allowlist.write_text(json.dumps({HASH: QUERY}))
    app = create_app(msgspec.structs.replace(settings, graphql_allowlist=str(allowlist)), passwords=FAST_PASSWORDS, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        headers = await _headers(client)
        r = (await client.post("/graphql", json={"extensions": PQ}, headers=headers)).json()
        assert r["data"]["me"]["role"] == "associate"
        r = (await client.post("/graphql", json={"query": QUERY}, headers=headers)).json()
        assert r["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        other = {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}
        r = (await client.post("/graphql", json={"extensions": other}, headers=headers)).json()
        assert r["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
