"""Duplicate detection when a customer is created, over REST and GraphQL, on both databases:
same email, same phone, or a similar name with the same birthday holds the create back with
the candidates (as the caller may see them) until the caller confirms."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from clienteling.tables import AuditEntry, Customer
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login


async def _madrid():  # noqa: ANN202
    madrid = await make_store(code="MAD")
    bucharest = await make_store(code="BUC", city="Bucharest", country="RO")
    associate = await make_staff(role="associate", stores=[madrid])
    manager = await make_staff(role="store_manager", stores=[madrid])
    return madrid, bucharest, associate, manager


def _body(store: UUID, **fields) -> dict:  # noqa: ANN003
    return {"firstName": "Laia", "lastName": "Vilaseca", "homeStoreId": str(store), **fields}


async def _create(client, headers: dict, body: dict):  # noqa: ANN001, ANN202
    return await client.post("/api/v1/customers", json=body, headers=headers)


def _candidate_ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "DUPLICATE_CANDIDATES" and response.headers["content-type"].startswith("application/problem+json")
    return [c["id"] for c in problem["candidates"]]


async def test_same_email_holds_the_create_back_until_confirmed(client) -> None:
    madrid, _, _, manager = await _madrid()
    existing = await make_customer(store=madrid, first_name="Laia", last_name="Vila", email="laia@example.com", phone=None)
    headers = await login(client, manager["email"])
    body = _body(madrid, email="LAIA@example.com")
    r = await _create(client, headers, body)
    assert _candidate_ids(r) == [str(existing)]
    candidate = r.json()["candidates"][0]
    assert candidate["firstName"] == "Laia" and candidate["email"] == "laia@example.com"
    assert await Customer.count().run() == 1  # nothing was created
    r = await _create(client, headers, body | {"confirmDuplicate": True})
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "LAIA@example.com" and "confirmDuplicate" not in r.json()
    assert await Customer.count().run() == 2


async def test_same_phone_in_another_formatting_is_a_duplicate(client) -> None:
    madrid, _, _, manager = await _madrid()
    existing = await make_customer(store=madrid, first_name="Pau", last_name="Serra", email=None, phone="612345678")
    headers = await login(client, manager["email"])
    r = await _create(client, headers, _body(madrid, phone="+34 612-345-678"))
    assert _candidate_ids(r) == [str(existing)]


async def test_similar_name_with_the_same_birthdate_is_a_duplicate(client) -> None:
    madrid, _, _, manager = await _madrid()
    existing = await make_customer(store=madrid, first_name="José", last_name="García Pérez", email=None, phone=None, birthdate=dt.date(1990, 5, 17))
    await make_customer(store=madrid, first_name="José", last_name="García", email=None, phone=None, birthdate=dt.date(1991, 5, 17))
    headers = await login(client, manager["email"])
    for first, last in (("Jose", "Garcia"), ("José", "Garsia"), ("Garcia", "Jose"), ("José", "García Pérez")):
        r = await _create(client, headers, _body(madrid, firstName=first, lastName=last, birthdate="1990-05-17"))
        assert _candidate_ids(r) == [str(existing)], (first, last)


async def test_a_similar_name_alone_or_the_birthdate_alone_is_not_a_duplicate(client) -> None:
    madrid, _, _, manager = await _madrid()
    await make_customer(store=madrid, first_name="José", last_name="García", email=None, phone=None, birthdate=dt.date(1990, 5, 17))
    headers = await login(client, manager["email"])
    r = await _create(client, headers, _body(madrid, firstName="José", lastName="García", birthdate="1990-05-18"))
    assert r.status_code == 201, r.text
    r = await _create(client, headers, _body(madrid, firstName="Jordi", lastName="Puig", birthdate="1990-05-17"))
    assert r.status_code == 201, r.text
    r = await _create(client, headers, _body(madrid, firstName="José", lastName="Garrido", birthdate="1990-05-17"))
    assert r.status_code == 201, r.text


async def test_duplicates_outside_the_callers_stores_are_never_revealed(client) -> None:
    madrid, bucharest, associate, manager = await _madrid()
    await make_customer(store=bucharest, first_name="Ion", last_name="Popescu", email="ion@example.ro", phone="+40 722 111 222", birthdate=dt.date(1985, 3, 1))
    body = _body(madrid, firstName="Ion", lastName="Popescu", email="ion@example.ro", phone="+40 722 111 222", birthdate="1985-03-01")
    r = await _create(client, await login(client, manager["email"]), body)
    assert r.status_code == 201, r.text
    in_madrid = r.json()["id"]
    r = await _create(client, await login(client, associate["email"]), body | {"email": "ion2@example.ro", "phone": "+40 722 111 333"})
    # the manager's new Madrid customer is a duplicate the associate may see; Bucharest's is not
    assert _candidate_ids(r) == [in_madrid]


async def test_associate_is_shown_candidates_masked_and_never_matched_on_hidden_contact(client) -> None:
    """The email of a store customer outside the associate's book is masked to them: a
    create with that email must not confirm it. A similar name with the same month and day
    (what the masked birthdate shows) does count, and the candidate comes masked."""
    madrid, _, associate, _ = await _madrid()
    stranger = await make_customer(store=madrid, first_name="Lucía", last_name="Pérez", email="lucia.perez@example.com", phone="+34 600 111 222", birthdate=dt.date(1990, 5, 17))
    headers = await login(client, associate["email"])
    r = await _create(client, headers, _body(madrid, email="lucia.perez@example.com", phone="+34 600 111 222"))
    assert r.status_code == 201, r.text
    r = await _create(client, headers, _body(madrid, firstName="Lucia", lastName="Perez", birthdate="1990-05-17"))
    assert _candidate_ids(r) == [str(stranger)]
    candidate = r.json()["candidates"][0]
    assert candidate["email"] == "l•••@example.com" and candidate["birthdate"] == "--05-17"


async def test_reading_the_candidates_is_audited_as_a_search(client) -> None:
    madrid, _, _, manager = await _madrid()
    existing = await make_customer(store=madrid, email="laia@example.com")
    r = await _create(client, await login(client, manager["email"]), _body(madrid, email="laia@example.com"))
    assert r.status_code == 409
    entries = await AuditEntry.select().where(AuditEntry.action == "search").output(load_json=True).run()
    assert [e["customer_ids"] for e in entries] == [[str(existing)]]
    assert entries[0]["actor_id"] == manager["id"] and "email" in entries[0]["fields"]


async def test_birth_month_and_day_are_kept_with_the_birthdate(client) -> None:
    madrid, _, _, manager = await _madrid()
    headers = await login(client, manager["email"])
    r = await _create(client, headers, _body(madrid, birthdate="1990-05-17"))
    cid = r.json()["id"]
    row = await Customer.select(Customer.birth_mmdd).where(Customer.id == cid).first().run()
    assert row["birth_mmdd"] == 517
    r = await client.patch(f"/api/v1/customers/{cid}", json={"birthdate": "1990-12-03"}, headers=headers)
    assert r.status_code == 200, r.text
    assert (await Customer.select(Customer.birth_mmdd).where(Customer.id == cid).first().run())["birth_mmdd"] == 1203
    await client.patch(f"/api/v1/customers/{cid}", json={"birthdate": None}, headers=headers)
    assert (await Customer.select(Customer.birth_mmdd).where(Customer.id == cid).first().run())["birth_mmdd"] is None


CREATE = """
mutation($input: CustomerCreateInput!, $confirm: Boolean!) {
  createCustomer(input: $input, confirmDuplicate: $confirm) {
    customer { id firstName email }
    duplicateCandidates { id firstName email }
  }
}
"""


async def test_graphql_create_customer_answers_candidates_then_creates_on_confirmation(client) -> None:
    madrid, _, _, manager = await _madrid()
    existing = await make_customer(store=madrid, first_name="Laia", last_name="Vila", email="laia@example.com")
    headers = await login(client, manager["email"])
    variables = {"input": {"firstName": "Laia", "lastName": "Vilaseca", "homeStoreId": str(madrid), "email": "laia@example.com"}, "confirm": False}
    r = await client.post("/graphql", json={"query": CREATE, "variables": variables}, headers=headers)
    result = r.json()
    assert "errors" not in result, result
    assert result["data"]["createCustomer"] == {
        "customer": None, "duplicateCandidates": [{"id": str(existing), "firstName": "Laia", "email": "laia@example.com"}],
    }
    r = await client.post("/graphql", json={"query": CREATE, "variables": variables | {"confirm": True}}, headers=headers)
    created = r.json()["data"]["createCustomer"]
    assert created["duplicateCandidates"] == [] and created["customer"]["firstName"] == "Laia"
    assert await Customer.count().run() == 2


async def test_graphql_create_customer_without_duplicates_creates_at_once(client) -> None:
    madrid, _, associate, _ = await _madrid()
    variables = {"input": {"firstName": "Laia", "lastName": "Vilaseca", "homeStoreId": str(madrid), "primaryAssociateId": str(associate["id"])}, "confirm": False}
    r = await client.post("/graphql", json={"query": CREATE, "variables": variables}, headers=await login(client, associate["email"]))
    created = r.json()["data"]["createCustomer"]
    assert created["duplicateCandidates"] == [] and created["customer"]["firstName"] == "Laia"
