"""Idempotency-Key on creating POSTs: retries return the first answer and create nothing twice."""

from __future__ import annotations

import asyncio

from clienteling.tables import Note
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login


async def _seller_and_customer(client):  # noqa: ANN001, ANN202
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    return await login(client, seller["email"]), await make_customer(store=store)


async def test_a_retried_post_with_the_same_key_creates_one_note(client) -> None:
    headers, cid = await _seller_and_customer(client)
    headers = headers | {"Idempotency-Key": "note-7f3a"}
    first = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Loves linen"}, headers=headers)
    again = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Loves linen"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await Note.count().where(Note.customer == cid).run() == 1


async def test_the_same_key_with_another_body_is_422(client) -> None:
    headers, cid = await _seller_and_customer(client)
    headers = headers | {"Idempotency-Key": "note-1"}
    await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "A"}, headers=headers)
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "B"}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await Note.count().where(Note.customer == cid).run() == 1


async def test_concurrent_duplicates_create_one_record(client) -> None:
    headers, cid = await _seller_and_customer(client)
    headers = headers | {"Idempotency-Key": "burst-1"}
    responses = await asyncio.gather(*[client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Burst"}, headers=headers) for _ in range(5)])
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await Note.count().where(Note.customer == cid).run() == 1


async def test_keys_are_per_caller(client) -> None:
    store = await make_store()
    cid = await make_customer(store=store)
    a = await login(client, (await make_staff(role="associate", stores=[store]))["email"])
    b = await login(client, (await make_staff(role="associate", stores=[store]))["email"])
    for headers in (a, b):
        r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Same key"}, headers=headers | {"Idempotency-Key": "shared"})
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert await Note.count().where(Note.customer == cid).run() == 2


async def test_the_first_answer_is_replayed_even_when_it_was_a_client_error(client) -> None:
    headers, cid = await _seller_and_customer(client)
    headers = headers | {"Idempotency-Key": "retry-after-fix"}
    bad = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": ""}, headers=headers)
    assert bad.status_code == 400
    same = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": ""}, headers=headers)
    assert same.status_code == 400 and same.headers["idempotent-replayed"] == "true"
    # a corrected body is a different request: it needs a new key
    fixed = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "fixed"}, headers=headers)
    assert fixed.status_code == 422
    assert await Note.count().where(Note.customer == cid).run() == 0


async def test_an_invalid_key_is_400(client) -> None:
    headers, cid = await _seller_and_customer(client)
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "x"}, headers=headers | {"Idempotency-Key": "x" * 201})
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED"
