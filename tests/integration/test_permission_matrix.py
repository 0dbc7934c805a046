"""The permission matrix, generated from the loaded default policy.

For every staff role, the expected view of every customer field is computed with
``permissions.decide`` for the actual caller and customer, and every read surface (REST get,
REST list, GraphQL ``customer``, GraphQL ``customers``) must return exactly that: the raw
value for ``full``, ``mask(field, raw)`` for ``masked``, null for ``none``, and nothing at all
(404 / NOT_FOUND / absent from lists) for a customer outside the caller's scope. Search,
writes, cross-store ids (IDOR) and notes are checked against the same decisions.

Nothing below copies the policy by hand: change ``default_policy.toml`` and the expectations
follow. Runs on SQLite and PostgreSQL (the ``database`` fixture).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from clienteling.tables import Customer as CustomerRow
from clienteling.tables import Note as NoteRow
from domain.consent import PURPOSES
from domain.customers import WRITABLE_CUSTOMER_FIELDS, Customer
from domain.errors import Forbidden
from domain.staff import Principal, Role
from permissions import Decision, RecordContext, decide, load_default_policy, mask, searchable_fields
from permissions.policy import RESOURCE_FIELDS
from tests.factories import make_customer, make_note, make_staff, make_store
from tests.integration.conftest import login

POLICY = load_default_policy()
ROLES = [role.value for role in Role]
FIELDS: tuple[str, ...] = RESOURCE_FIELDS["customer"]
# snake_case field -> camelCase name on the wire (REST and GraphQL use the same names).
WIRE: dict[str, str] = {f.name: f.encode_name for f in msgspec.structs.fields(Customer)}
DATETIME_FIELDS = {"created_at", "updated_at"}

STORE_SCOPED_ROLES = [r for r in ROLES if POLICY.resource(Role(r), "customer").scope != "all"]  # type: ignore[union-attr]
ROLES_WITH_NOTES = [r for r in ROLES if POLICY.resource(Role(r), "note") is not None]
ROLES_WITHOUT_NOTES = [r for r in ROLES if POLICY.resource(Role(r), "note") is None]

# The record situations every read surface is checked against.
IN_STORE = "in_store_not_in_book_all_consents"  # (a)
IN_BOOK = "in_book_no_consents"  # (b)
OTHER_STORE = "other_store_all_consents"  # (c)
SITUATIONS = (IN_STORE, IN_BOOK, OTHER_STORE)

GQL_FIELDS = " ".join(WIRE[f] for f in FIELDS)
GQL_CUSTOMER = f"query($id: ID!) {{ customer(id: $id) {{ id version {GQL_FIELDS} }} }}"
GQL_CUSTOMERS = f"query($s: String) {{ customers(search: $s, first: 200) {{ edges {{ node {{ id version {GQL_FIELDS} }} }} }} }}"

FIRST_NAMES = ["Lucía", "Marta", "Jordi", "Montse", "Ștefan", "Carmen", "Irene", "Pau", "Oriol", "Nuria", "Elena", "Ramón", "Sílvia", "Bruno", "Clara"]
LAST_NAMES = ["Pérez", "Roca", "Puig", "Vidal", "Ionescu", "Soler", "Ferrer", "Casals", "Mas", "Font", "Serra", "Bosch", "Vila", "Riera", "Pujol"]


# --------------------------------------------------------------------------- test data


def principal_of(staff: dict[str, Any]) -> Principal:
    return Principal(staff_id=staff["id"], role=Role(staff["role"]), store_ids=frozenset(staff["stores"]), session_id=uuid4())


@dataclass
class World:
    """Two stores; a caller of the role under test; sellers in both stores; customers."""

    role: str
    home: UUID
    other: UUID
    caller: dict[str, Any]
    colleague: dict[str, Any]  # active associate of the home store
    colleague_b: dict[str, Any]
    outsider: dict[str, Any]  # associates of the other store
    outsider_b: dict[str, Any]
    customers: dict[str, UUID] = field(default_factory=dict)
    records: dict[UUID, RecordContext] = field(default_factory=dict)
    seq: int = 0

    @property
    def principal(self) -> Principal:
        return principal_of(self.caller)

    def decision(self, cid: UUID) -> Decision | None:
        """What the policy says the caller may see of this customer (None: out of scope)."""
        try:
            return decide(POLICY, self.principal, "customer", self.records[cid])
        except Forbidden:
            return None

    async def customer(self, situation: str) -> UUID:
        """A new customer in ``situation`` with a non-null value in every field."""
        self.seq += 1
        n = self.seq
        if situation == IN_STORE:
            store, primary, secondary, consents = self.home, self.colleague["id"], self.colleague_b["id"], PURPOSES
        elif situation == IN_BOOK:
            store, primary, secondary, consents = self.home, self.caller["id"], self.colleague["id"], ()
        elif situation == OTHER_STORE:
            store, primary, secondary, consents = self.other, self.outsider["id"], self.outsider_b["id"], PURPOSES
        else:  # pragma: no cover
            raise AssertionError(situation)
        tag = uuid4().hex[:6]
        cid = await make_customer(
            store=store, first_name=FIRST_NAMES[n % len(FIRST_NAMES)], last_name=LAST_NAMES[n % len(LAST_NAMES)],
            email=f"client.{tag}@example.com", phone=f"+34 6{n % 10}{n % 10} {100 + n} {200 + n}",
            birthdate=dt.date(1980 + n % 20, 1 + n % 12, 1 + n % 28), primary=primary, secondary=secondary,
            sizes={"shoe": "38", "top": "S"}, preferences={"colors": ["navy"]},
            loyalty_number=f"LOY{uuid4().hex[:10].upper()}", language="es", consents=consents,
        )
        await CustomerRow.update(
            {CustomerRow.tags: ["regular"], CustomerRow.vip: True, CustomerRow.loyalty_tier: "gold", CustomerRow.loyalty_points: 1250}
        ).where(CustomerRow.id == cid).run()
        self.customers.setdefault(situation, cid)
        self.records[cid] = RecordContext(
            store_id=store, primary_associate_id=primary, secondary_associate_id=secondary, consents=frozenset(consents)
        )
        return cid


async def build_world(role: str, situations: tuple[str, ...] = SITUATIONS) -> World:
    home = await make_store()
    other = await make_store(city="Bucharest", country="RO")
    # store-scoped roles work in the home store; roles reaching every store are assigned none
    scope = POLICY.resource(Role(role), "customer").scope  # type: ignore[union-attr]
    caller = await make_staff(role=role, stores=[home] if scope != "all" else [])
    world = World(
        role=role, home=home, other=other, caller=caller,
        colleague=await make_staff(role="associate", stores=[home]),
        colleague_b=await make_staff(role="associate", stores=[home]),
        outsider=await make_staff(role="associate", stores=[other]),
        outsider_b=await make_staff(role="associate", stores=[other]),
    )
    for situation in situations:
        await world.customer(situation)
    return world


async def row_of(cid: UUID) -> dict[str, Any]:
    row = await CustomerRow.select().where(CustomerRow.id == cid).output(load_json=True).first().run()
    assert row is not None
    return row


def domain_values(row: dict[str, Any]) -> dict[str, Any]:
    """The row's field values as the service hands them to the decision (snake names)."""
    birthdate = row["birthdate"]
    if isinstance(birthdate, dt.date):
        birthdate = birthdate.isoformat()
    return {
        "first_name": row["first_name"], "last_name": row["last_name"], "email": row["email"], "phone": row["phone"],
        "birthdate": birthdate, "language": row["language"], "home_store_id": row["home_store"],
        "primary_associate_id": row["primary_associate"], "secondary_associate_id": row["secondary_associate"],
        "sizes": row["sizes"], "preferences": row["preferences"], "tags": row["tags"], "vip": row["vip"],
        "loyalty_number": row["loyalty_number"], "loyalty_tier": row["loyalty_tier"],
        "loyalty_points": row["loyalty_points"], "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


def wire(value: Any) -> Any:
    """A raw value in JSON wire form (UUIDs as strings, dates as ISO strings)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _same_instant(got: Any, raw: Any) -> bool:
    if not isinstance(got, str) or raw is None:
        return False
    parsed = dt.datetime.fromisoformat(got)
    if isinstance(raw, str):
        raw = dt.datetime.fromisoformat(raw)
    if raw.tzinfo is None:
        raw = raw.replace(tzinfo=dt.timezone.utc)
    return parsed == raw


def view_mismatches(view: dict[str, Any], decision: Decision, row: dict[str, Any]) -> list[str]:
    """Every field where ``view`` (a REST or GraphQL customer object) differs from the policy."""
    raw = domain_values(row)
    out = []
    for f in FIELDS:
        access = decision.fields[f]
        got = view.get(WIRE[f], "<missing>")
        if access == "full":
            ok = _same_instant(got, raw[f]) if f in DATETIME_FIELDS else got == wire(raw[f])
            expected = wire(raw[f])
        elif access == "masked":
            expected = mask(f, raw[f])
            ok = got == expected
        else:
            expected = None
            ok = got is None
        if not ok:
            out.append(f"{f} ({access}): expected {expected!r}, got {got!r}")
    if view.get("id") != str(row["id"]):
        out.append(f"id: expected {row['id']}, got {view.get('id')!r}")
    return out


def assert_matches_policy(view: dict[str, Any], decision: Decision, row: dict[str, Any], where: str) -> None:
    assert view_mismatches(view, decision, row) == [], where


def assert_some_full_field_is_set(view: dict[str, Any], decision: Decision, where: str) -> None:
    """Guards against a surface silently answering nulls everywhere."""
    full = [f for f, a in decision.fields.items() if a == "full"]
    assert full, f"{where}: the policy gives no field in full"
    assert any(view.get(WIRE[f]) is not None for f in full), f"{where}: every full field is null"


async def gql(client, query: str, variables: dict | None = None, headers: dict | None = None) -> dict:  # noqa: ANN001
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def codes(result: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors") or []]


# --------------------------------------------------------------------------- policy sanity


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_customer_section_and_reads_some_field_in_full(role: str) -> None:
    rp = POLICY.resource(Role(role), "customer")
    assert rp is not None
    p = Principal(staff_id=uuid4(), role=Role(role), store_ids=frozenset({uuid4()}), session_id=uuid4())
    d = decide(POLICY, p, "customer", RecordContext(store_id=next(iter(p.store_ids)), consents=frozenset(PURPOSES)))
    assert any(a == "full" for a in d.fields.values())
    assert set(d.fields) == set(FIELDS)


def test_policy_keeps_notes_from_marketing_and_compliance() -> None:
    assert {"marketing", "compliance_officer"} <= set(ROLES_WITHOUT_NOTES)
    assert STORE_SCOPED_ROLES, "the matrix needs at least one store-scoped role"


# --------------------------------------------------------------------------- read matrix


@pytest.mark.parametrize("role", ROLES)
async def test_rest_get_matches_policy(client, role: str) -> None:
    world = await build_world(role)
    headers = await login(client, world.caller["email"])
    for situation, cid in world.customers.items():
        decision = world.decision(cid)
        r = await client.get(f"/api/v1/customers/{cid}", headers=headers)
        if decision is None:
            assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", (situation, r.text)
            continue
        assert r.status_code == 200, (situation, r.text)
        assert_matches_policy(r.json(), decision, await row_of(cid), situation)
        assert_some_full_field_is_set(r.json(), decision, situation)
    assert world.decision(world.customers[IN_STORE]) is not None


@pytest.mark.parametrize("role", ROLES)
async def test_graphql_customer_matches_policy(client, role: str) -> None:
    world = await build_world(role)
    headers = await login(client, world.caller["email"])
    for situation, cid in world.customers.items():
        decision = world.decision(cid)
        result = await gql(client, GQL_CUSTOMER, {"id": str(cid)}, headers)
        if decision is None:
            assert codes(result) == ["NOT_FOUND"], (situation, result)
            assert (result.get("data") or {}).get("customer") is None
            continue
        assert "errors" not in result, (situation, result)
        view = result["data"]["customer"]
        assert_matches_policy(view, decision, await row_of(cid), situation)
        assert_some_full_field_is_set(view, decision, situation)


@pytest.mark.parametrize("role", ROLES)
async def test_rest_list_matches_policy(client, role: str) -> None:
    world = await build_world(role)
    r = await client.get("/api/v1/customers", params={"limit": 200}, headers=await login(client, world.caller["email"]))
    assert r.status_code == 200, r.text
    listed = {item["id"]: item for item in r.json()["items"]}
    for situation, cid in world.customers.items():
        decision = world.decision(cid)
        if decision is None:
            assert str(cid) not in listed, f"{situation}: out-of-scope customer is listed"
            continue
        assert str(cid) in listed, f"{situation}: reachable customer is not listed"
        assert_matches_policy(listed[str(cid)], decision, await row_of(cid), situation)
        assert_some_full_field_is_set(listed[str(cid)], decision, situation)
    assert set(listed) <= {str(c) for c in world.customers.values()}


@pytest.mark.parametrize("role", ROLES)
async def test_graphql_customers_connection_matches_policy(client, role: str) -> None:
    world = await build_world(role)
    result = await gql(client, GQL_CUSTOMERS, {}, await login(client, world.caller["email"]))
    assert "errors" not in result, result
    listed = {e["node"]["id"]: e["node"] for e in result["data"]["customers"]["edges"]}
    for situation, cid in world.customers.items():
        decision = world.decision(cid)
        if decision is None:
            assert str(cid) not in listed, f"{situation}: out-of-scope customer is listed"
            continue
        assert str(cid) in listed, f"{situation}: reachable customer is not listed"
        assert_matches_policy(listed[str(cid)], decision, await row_of(cid), situation)
        assert_some_full_field_is_set(listed[str(cid)], decision, situation)
    assert set(listed) <= {str(c) for c in world.customers.values()}


# --------------------------------------------------------------------------- search matrix


@pytest.mark.parametrize("search_field", ["email", "phone", "loyalty_number"])
@pytest.mark.parametrize("role", ROLES)
async def test_search_by_exact_value_finds_only_what_policy_lets_the_caller_match(client, role: str, search_field: str) -> None:
    """Found iff ``searchable_fields`` allows the field for that record (``scope``: every
    reachable record; ``book``: only the caller's book); never otherwise, so a search cannot
    confirm a value the caller cannot read in full."""
    world = await build_world(role)
    allowed = searchable_fields(POLICY, world.principal).get(search_field)
    headers = await login(client, world.caller["email"])
    for situation, cid in world.customers.items():
        row = await row_of(cid)
        value = row[search_field]
        record = world.records[cid]
        decision = world.decision(cid)
        in_book = world.caller["id"] in (record.primary_associate_id, record.secondary_associate_id)
        findable = decision is not None and (allowed == "scope" or (allowed == "book" and in_book))
        if findable:  # the policy itself must never allow matching a value not readable in full
            assert decision.fields[search_field] == "full", (situation, allowed)
        where = f"{situation}: q={value!r} (searchable: {allowed})"

        r = await client.get("/api/v1/customers", params={"q": value}, headers=headers)
        assert r.status_code == 200, (where, r.text)
        items = r.json()["items"]
        assert [c["id"] for c in items] == ([str(cid)] if findable else []), f"REST {where}"
        if findable:
            assert items[0][WIRE[search_field]] == value, f"REST {where}"

        result = await gql(client, GQL_CUSTOMERS, {"s": value}, headers)
        assert "errors" not in result, (where, result)
        nodes = [e["node"] for e in result["data"]["customers"]["edges"]]
        assert [n["id"] for n in nodes] == ([str(cid)] if findable else []), f"GraphQL {where}"
        if findable:
            assert nodes[0][WIRE[search_field]] == value, f"GraphQL {where}"


# --------------------------------------------------------------------------- write matrix


def new_values(world: World) -> dict[str, Any]:
    """A valid new value for every writable field, in JSON wire form."""
    values = {
        "first_name": "Carmen",
        "last_name": "Soler",
        "email": "carmen.soler@example.com",
        "phone": "+34 611 222 333",
        "birthdate": "1985-02-03",
        "language": "ca",
        "home_store_id": str(world.home),
        "primary_associate_id": str(world.colleague_b["id"]),
        "secondary_associate_id": str(world.colleague_b["id"]),
        "sizes": {"shoe": "41"},
        "preferences": {"colors": ["red"]},
        "tags": ["x"],
        "vip": True,
    }
    assert set(values) == set(WRITABLE_CUSTOMER_FIELDS), "pick a value for every writable field"
    return values


def _comparable(f: str, row: dict[str, Any]) -> Any:
    return wire(domain_values(row)[f])


async def _check_write_outcome(world: World, f: str, cid: UUID, before: dict[str, Any], new: Any, outcome: tuple[int, str | None, Any]) -> None:
    """``outcome`` is (status, error code, written value as returned)."""
    decision = world.decision(cid)
    assert decision is not None
    after = await row_of(cid)
    status, code, returned = outcome
    if f in decision.writable:
        assert status == 200, f"{f}: writable by policy, got {status} {code}"
        assert returned == new, f"{f}: response shows {returned!r}"
        assert after["version"] == before["version"] + 1
        assert _comparable(f, after) == new, f"{f}: row holds {_comparable(f, after)!r}"
    else:
        assert (status, code) == (403, "FIELDS_NOT_WRITABLE"), f"{f}: not writable by policy, got {status} {code}"
        assert after["version"] == before["version"], f"{f}: refused write bumped the version"
        assert _comparable(f, after) == _comparable(f, before), f"{f}: refused write changed the row"


@pytest.mark.parametrize("situation", [IN_STORE, IN_BOOK])
@pytest.mark.parametrize("role", ROLES)
async def test_rest_patch_of_each_field_succeeds_iff_policy_makes_it_writable(client, role: str, situation: str) -> None:
    world = await build_world(role, situations=())
    headers = await login(client, world.caller["email"])
    for f, new in new_values(world).items():
        cid = await world.customer(situation)  # a fresh customer per field
        before = await row_of(cid)
        r = await client.patch(f"/api/v1/customers/{cid}", json={WIRE[f]: new}, headers=headers)
        body = r.json()
        if r.status_code == 403:
            assert body.get("fields") == [WIRE[f]], body
        await _check_write_outcome(world, f, cid, before, new, (r.status_code, body.get("code"), body.get(WIRE[f])))


@pytest.mark.parametrize("situation", [IN_STORE, IN_BOOK])
@pytest.mark.parametrize("role", ROLES)
async def test_graphql_update_customer_of_each_field_succeeds_iff_policy_makes_it_writable(client, role: str, situation: str) -> None:
    world = await build_world(role, situations=())
    headers = await login(client, world.caller["email"])
    for f, new in new_values(world).items():
        cid = await world.customer(situation)
        before = await row_of(cid)
        mutation = f"mutation($id: ID!, $input: CustomerUpdateInput!) {{ updateCustomer(id: $id, input: $input) {{ id version {WIRE[f]} }} }}"
        result = await gql(client, mutation, {"id": str(cid), "input": {WIRE[f]: new}}, headers)
        if result.get("errors"):
            assert len(result["errors"]) == 1, result
            error = result["errors"][0]
            code = error["extensions"]["code"]
            status = 403 if code in ("FORBIDDEN", "FIELDS_NOT_WRITABLE") else 400
            if code == "FIELDS_NOT_WRITABLE":
                assert error["extensions"]["fields"] == [WIRE[f]], error
            outcome = (status, code, None)
        else:
            outcome = (200, None, result["data"]["updateCustomer"][WIRE[f]])
        await _check_write_outcome(world, f, cid, before, new, outcome)


# --------------------------------------------------------------------------- IDOR


@pytest.mark.parametrize("role", STORE_SCOPED_ROLES)
async def test_another_stores_customer_is_not_found_on_every_route(client, role: str) -> None:
    """With the id of a customer of another store, every customer route answers exactly as for
    an id that does not exist, even for a field the role could not write anyway, and writes
    nothing."""
    world = await build_world(role, situations=(OTHER_STORE,))
    cid = world.customers[OTHER_STORE]
    assert world.decision(cid) is None  # out of scope by the policy
    await make_note(customer=cid, author=world.outsider["id"], body="Outsider's note")
    before = await row_of(cid)
    headers = await login(client, world.caller["email"])

    def not_found(r, what: str) -> None:  # noqa: ANN001
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", (what, r.status_code, r.text)

    not_found(await client.get(f"/api/v1/customers/{cid}", headers=headers), "GET")
    not_found(await client.patch(f"/api/v1/customers/{cid}", json={"firstName": "Hacked"}, headers=headers), "PATCH firstName")
    not_found(await client.patch(f"/api/v1/customers/{cid}", json={"vip": True, "homeStoreId": str(world.home)}, headers=headers), "PATCH vip")
    not_found(await client.get(f"/api/v1/customers/{cid}/notes", headers=headers), "GET notes")
    not_found(await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Planted"}, headers=headers), "POST notes")

    result = await gql(client, GQL_CUSTOMER, {"id": str(cid)}, headers)
    assert codes(result) == ["NOT_FOUND"] and "Outsider" not in str(result), result
    result = await gql(client, "query($id: ID!) { customer(id: $id) { notes { body } } }", {"id": str(cid)}, headers)
    assert codes(result) == ["NOT_FOUND"] and "Outsider" not in str(result), result
    for input_ in ({"firstName": "Hacked"}, {"vip": True}):
        result = await gql(client, "mutation($id: ID!, $i: CustomerUpdateInput!) { updateCustomer(id: $id, input: $i) { id } }", {"id": str(cid), "i": input_}, headers)
        assert codes(result) == ["NOT_FOUND"], (input_, result)
    result = await gql(client, 'mutation($id: ID!) { addNote(customerId: $id, input: {body: "Planted"}) { id } }', {"id": str(cid)}, headers)
    assert codes(result) == ["NOT_FOUND"], result

    after = await row_of(cid)
    assert (after["version"], after["first_name"], after["vip"], after["home_store"]) == (
        before["version"], before["first_name"], before["vip"], before["home_store"]
    )
    notes = await NoteRow.select(NoteRow.body).where(NoteRow.customer == cid).run()
    assert [n["body"] for n in notes] == ["Outsider's note"]


# --------------------------------------------------------------------------- notes


@pytest.mark.parametrize("role", ROLES_WITHOUT_NOTES)
async def test_role_without_note_access_cannot_list_or_add_notes(client, role: str) -> None:
    world = await build_world(role, situations=(IN_STORE,))
    cid = world.customers[IN_STORE]
    assert world.decision(cid) is not None  # the customer itself is reachable
    await make_note(customer=cid, author=world.colleague["id"], body="Secret wedding plans")
    headers = await login(client, world.caller["email"])

    r = await client.get(f"/api/v1/customers/{cid}/notes", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", r.text
    assert "Secret" not in r.text
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Marketing note"}, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", r.text

    result = await gql(client, 'mutation($id: ID!) { addNote(customerId: $id, input: {body: "Marketing note"}) { id } }', {"id": str(cid)}, headers)
    assert codes(result) == ["FORBIDDEN"], result
    result = await gql(client, "query($id: ID!) { customer(id: $id) { id notes { body } } }", {"id": str(cid)}, headers)
    assert "Secret" not in str(result["data"]), result
    assert "FORBIDDEN" in codes(result) or result["data"]["customer"]["notes"] == [], result

    notes = await NoteRow.select(NoteRow.body).where(NoteRow.customer == cid).run()
    assert [n["body"] for n in notes] == ["Secret wedding plans"]


@pytest.mark.parametrize("role", ROLES_WITH_NOTES)
async def test_private_notes_appear_only_for_their_author(client, role: str) -> None:
    world = await build_world(role, situations=(IN_STORE,))
    cid = world.customers[IN_STORE]
    author = world.colleague
    await make_note(customer=cid, author=author["id"], body="Shared: likes linen")
    await make_note(customer=cid, author=author["id"], body="Colleague's private note", visibility="private")
    headers = await login(client, world.caller["email"])
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Caller's private note", "visibility": "private"}, headers=headers)
    assert r.status_code == 201 and r.json()["authorId"] == str(world.caller["id"]), r.text

    seen = {n["body"] for n in (await client.get(f"/api/v1/customers/{cid}/notes", headers=headers)).json()["items"]}
    assert seen == {"Shared: likes linen", "Caller's private note"}
    result = await gql(client, "query($id: ID!) { customer(id: $id) { notes { body } } }", {"id": str(cid)}, headers)
    assert "errors" not in result, result
    assert {n["body"] for n in result["data"]["customer"]["notes"]} == {"Shared: likes linen", "Caller's private note"}

    author_headers = await login(client, author["email"])
    seen = {n["body"] for n in (await client.get(f"/api/v1/customers/{cid}/notes", headers=author_headers)).json()["items"]}
    assert seen == {"Shared: likes linen", "Colleague's private note"}
