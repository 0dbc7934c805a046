"""GraphQL over HTTP: the same decisions as REST, errors with extensions.code."""

from __future__ import annotations

from tests.factories import make_customer, make_note, make_staff, make_store
from tests.integration.conftest import login

CUSTOMER_360 = """
query One($id: ID!) {
  customer(id: $id) {
    id firstName lastName email phone birthdate sizes preferences version
    homeStore { code city }
    notes(first: 10) { body pinned visibility }
  }
}
"""


async def gql(client, query: str, variables: dict | None = None, headers: dict | None = None) -> dict:  # noqa: ANN001
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def codes(result: dict) -> list[str]:
    return [e["extensions"]["code"] for e in result.get("errors", [])]


async def test_me_returns_role_and_stores(client) -> None:
    store = await make_store(code="MAD")
    staff = await make_staff(role="associate", stores=[store])
    result = await gql(client, "{ me { email role stores { code } } }", headers=await login(client, staff["email"]))
    assert result["data"]["me"] == {"email": staff["email"], "role": "associate", "stores": [{"code": "MAD"}]}


async def test_customer_query_applies_masking_and_loads_notes_and_store(client) -> None:
    madrid = await make_store(code="MAD")
    associate = await make_staff(role="associate", stores=[madrid])
    cid = await make_customer(store=madrid, email="lucia@example.com")
    await make_note(customer=cid, author=associate["id"], body="Likes linen", pinned=True)
    other = await make_staff(role="associate", stores=[madrid])
    await make_note(customer=cid, author=other["id"], body="secret", visibility="private")
    result = await gql(client, CUSTOMER_360, {"id": str(cid)}, await login(client, associate["email"]))
    c = result["data"]["customer"]
    assert c["email"] == "l•••@example.com" and c["birthdate"] == "--05-17"
    assert c["homeStore"] == {"code": "MAD", "city": "Madrid"}
    assert c["notes"] == [{"body": "Likes linen", "pinned": True, "visibility": "shared"}]


async def test_customers_connection_searches_and_pages_with_after(client) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    for first in ("María", "Mario", "Marta"):
        await make_customer(store=madrid, first_name=first, last_name="Martínez")
    await make_customer(store=madrid, first_name="Jordi", last_name="Puig")
    headers = await login(client, associate["email"])
    query = "query($s: String, $a: String) { customers(search: $s, first: 2, after: $a) { edges { cursor node { firstName } } pageInfo { hasNextPage endCursor } } }"
    first = (await gql(client, query, {"s": "martinez"}, headers))["data"]["customers"]
    assert [e["node"]["firstName"] for e in first["edges"]] == ["María", "Mario"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await gql(client, query, {"s": "martinez", "a": first["pageInfo"]["endCursor"]}, headers))["data"]["customers"]
    assert [e["node"]["firstName"] for e in rest["edges"]] == ["Marta"] and rest["pageInfo"]["hasNextPage"] is False
    # an edge cursor resumes right after that edge
    mid = (await gql(client, query, {"s": "martinez", "a": first["edges"][0]["cursor"]}, headers))["data"]["customers"]
    assert [e["node"]["firstName"] for e in mid["edges"]] == ["Mario", "Marta"]


async def test_update_customer_mutation_is_seen_by_a_second_client(client) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    manager = await make_staff(role="store_manager", stores=[madrid])
    cid = await make_customer(store=madrid)
    mutation = "mutation($id: ID!, $p: JSON) { updateCustomer(id: $id, input: {preferences: $p}, expectedVersion: 1) { preferences version } }"
    result = await gql(client, mutation, {"id": str(cid), "p": {"styles": ["minimal"]}}, await login(client, associate["email"]))
    assert result["data"]["updateCustomer"] == {"preferences": {"styles": ["minimal"]}, "version": 2}
    seen = await gql(client, "query($id: ID!) { customer(id: $id) { preferences } }", {"id": str(cid)}, await login(client, manager["email"]))
    assert seen["data"]["customer"]["preferences"] == {"styles": ["minimal"]}
    stale = await gql(client, mutation, {"id": str(cid), "p": {"styles": []}}, await login(client, associate["email"]))
    assert codes(stale) == ["PRECONDITION_FAILED"]


async def test_forbidden_field_in_mutation_has_code_and_changes_nothing(client) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    cid = await make_customer(store=madrid, first_name="Ana")
    headers = await login(client, associate["email"])
    result = await gql(client, 'mutation($id: ID!) { updateCustomer(id: $id, input: {firstName: "Anna", vip: true}) { id } }', {"id": str(cid)}, headers)
    assert codes(result) == ["FIELDS_NOT_WRITABLE"] and result["errors"][0]["extensions"]["fields"] == ["vip"]
    again = await gql(client, "query($id: ID!) { customer(id: $id) { firstName version } }", {"id": str(cid)}, headers)
    assert again["data"]["customer"] == {"firstName": "Ana", "version": 1}


async def test_add_note_mutation(client) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    cid = await make_customer(store=madrid)
    result = await gql(client, 'mutation($id: ID!) { addNote(customerId: $id, input: {body: "Anniversary 3 May", pinned: true}) { body pinned authorId } }', {"id": str(cid)}, await login(client, associate["email"]))
    assert result["data"]["addNote"] == {"body": "Anniversary 3 May", "pinned": True, "authorId": str(associate["id"])}


async def test_errors_carry_codes(client) -> None:
    madrid = await make_store()
    bucharest = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    theirs = await make_customer(store=bucharest)
    headers = await login(client, associate["email"])
    assert codes(await gql(client, "{ me { email } }")) == ["NOT_AUTHENTICATED"]
    assert codes(await gql(client, "{ me { email } }", headers={"Authorization": "Bearer v1.abc.def"})) == ["TOKEN_INVALID"]
    assert codes(await gql(client, '{ customer(id: "nope") { id } }', headers=headers)) == ["VALIDATION_FAILED"]
    assert codes(await gql(client, "query($id: ID!) { customer(id: $id) { id } }", {"id": str(theirs)}, headers)) == ["NOT_FOUND"]
    assert codes(await gql(client, "{ me { email ", headers=headers)) == ["GRAPHQL_PARSE_FAILED"]
    assert codes(await gql(client, "{ me { shoeSize } }", headers=headers)) == ["GRAPHQL_VALIDATION_FAILED"]
    too_many = await gql(client, "{ customers(first: 500) { edges { cursor } } }", headers=headers)
    assert codes(too_many) == ["VALIDATION_FAILED"] and too_many["errors"][0]["extensions"]["field"] == "first"
    bad_input = await gql(client, 'mutation($id: ID!) { updateCustomer(id: $id, input: {email: "nope"}) { id } }', {"id": str(theirs)}, headers)
    assert codes(bad_input) == ["VALIDATION_FAILED"]


async def test_query_depth_and_aliases_are_limited(client) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    headers = await login(client, associate["email"])
    aliases = " ".join(f"a{i}: me {{ email }}" for i in range(40))
    result = await gql(client, "{ " + aliases + " }", headers=headers)
    assert result.get("data") is None and result["errors"]
    assert all("code" in e["extensions"] for e in result["errors"])
