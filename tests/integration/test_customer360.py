"""The customer 360 in one GraphQL query: loyalty, purchases, consent summary, timeline;
per-role views; a bounded number of SQL statements whatever the volume; purchase paging."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator

import pytest

from clienteling.tables import AuditEntry
from tests.factories import grant, make_customer, make_note, make_staff, make_store
from tests.factories_commerce import (
    ago,
    make_appointment,
    make_check_in,
    make_purchase,
    make_return,
    make_task,
    set_customer,
)
from tests.integration.conftest import login
from tests.integration.test_graphql import codes, gql

CUSTOMER_360 = """
query Customer360($id: ID!, $first: Int!, $after: String) {
  customer(id: $id) {
    id firstName email loyaltyTier
    loyalty { tier points nextTier pointsToNextTier }
    homeStore { code }
    notes(first: 100) { body }
    purchases(first: $first, after: $after) {
      edges { cursor node { id occurredAt channel storeId currency total lines { sku name quantity unitPrice } } }
      pageInfo { hasNextPage endCursor }
    }
    consentSummary { purpose granted since expiresAt }
    timeline(first: 100) { kind occurredAt summary refId }
  }
}
"""

# The 360 above may cost at most this many SQL statements per engine, however many
# purchases, notes, consent answers or other events the customer has (docs/api.md states
# the same bounds). PostgreSQL reads the row with its consent ledger, a purchase page with
# its lines and every timeline source in one statement each; SQLite one statement apiece.
STATEMENT_BOUND = {"sqlite": 17, "postgresql": 8}


@contextlib.contextmanager
def counting_statements(engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:  # noqa: ANN001
    """Every statement piccolo sends to ``engine`` while the block runs. piccolo reports each
    query and DDL statement through ``print_query`` when ``log_queries`` is on, on SQLite and
    PostgreSQL alike (transaction BEGIN/COMMIT are not included)."""
    seen: list[str] = []

    def record(self, query_id: int, query: str) -> None:  # noqa: ANN001
        if self is engine:
            seen.append(query)

    monkeypatch.setattr(type(engine), "print_query", record)
    engine.log_queries = True
    try:
        yield seen
    finally:
        engine.log_queries = False


async def _shop(*, purchases: int = 2, notes: int = 1, consents: int = 0) -> dict:
    """A Madrid store, its associate (the customer's primary), a colleague, and a customer
    with purchases, a return, notes, a store visit, appointments, a completed follow-up and
    consent answers."""
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    colleague = await make_staff(role="associate", stores=[madrid])
    cid = await make_customer(store=madrid, primary=associate["id"], consents=("personalization", "in_store_recognition"))
    await set_customer(cid, loyalty_points=1500, loyalty_tier="silver")
    purchase_ids = [await make_purchase(customer=cid, store=madrid, occurred_at=ago(10 + i)) for i in range(purchases)]
    await make_return(customer=cid, purchase=purchase_ids[0] if purchase_ids else None, occurred_at=ago(5))
    for i in range(notes):
        await make_note(customer=cid, author=associate["id"], body=f"Prefers navy, size M ({i})")
    await make_note(customer=cid, author=colleague["id"], body="colleague's private note", visibility="private")
    await make_check_in(customer=cid, store=madrid, occurred_at=ago(3))
    await make_appointment(customer=cid, associate=associate["id"], store=madrid, starts_at=ago(4), status="held", notes="Bring the blue coat")
    await make_appointment(customer=cid, associate=associate["id"], store=madrid, starts_at=ago(-3))  # upcoming: not history
    await make_task(store=madrid, assignee=associate["id"], customer=cid, due_at=ago(2), completed_at=ago(2, hours=-1), title="Call about alterations")
    for i in range(consents):
        await grant(customer=cid, purpose="marketing_email", status="granted" if i % 2 == 0 else "withdrawn", at=ago(30 + i))
    return {"store": madrid, "associate": associate, "colleague": colleague, "customer": cid, "purchases": purchase_ids}


async def test_associate_gets_every_part_of_the_360_in_one_query(client) -> None:
    shop = await _shop()
    result = await gql(client, CUSTOMER_360, {"id": str(shop["customer"]), "first": 10}, await login(client, shop["associate"]["email"]))
    assert "errors" not in result, result
    c = result["data"]["customer"]
    assert c["loyalty"] == {"tier": "silver", "points": 1500, "nextTier": "gold", "pointsToNextTier": 500}
    purchases = c["purchases"]["edges"]
    assert [p["node"]["id"] for p in purchases] == [str(p) for p in shop["purchases"]]  # newest first
    first = purchases[0]["node"]
    assert first["total"] == "149.90" and first["currency"] == "EUR" and first["channel"] == "store"
    assert sorted((ln["sku"], ln["quantity"], ln["unitPrice"]) for ln in first["lines"]) == [("ACC-101", 2, "45.00"), ("TOP-001", 1, "59.90")]
    summary = {s["purpose"]: s for s in c["consentSummary"]}
    assert len(summary) == 6 and summary["personalization"]["granted"] is True and summary["personalization"]["since"]
    assert summary["marketing_sms"] == {"purpose": "marketing_sms", "granted": False, "since": None, "expiresAt": None}
    timeline = c["timeline"]
    assert {e["kind"] for e in timeline} == {"PURCHASE", "RETURN", "NOTE", "CHECK_IN", "APPOINTMENT", "TASK_COMPLETED", "CONSENT"}
    assert [e["occurredAt"] for e in timeline] == sorted((e["occurredAt"] for e in timeline), reverse=True)
    # notes: only the visible one; summaries carry no free text typed by staff
    assert sum(e["kind"] == "NOTE" for e in timeline) == 1
    text = " ".join(e["summary"] for e in timeline)
    for typed in ("navy", "private", "alterations", "blue coat"):
        assert typed not in text.lower()
    assert sum(e["kind"] == "APPOINTMENT" for e in timeline) == 1  # the upcoming one is not history
    assert next(e for e in timeline if e["kind"] == "PURCHASE")["summary"] == "In-store purchase, 149.90 EUR"


async def test_the_360_reads_are_audited_by_kind(client) -> None:
    shop = await _shop()
    await gql(client, CUSTOMER_360, {"id": str(shop["customer"]), "first": 10}, await login(client, shop["associate"]["email"]))
    rows = await AuditEntry.select(AuditEntry.action, AuditEntry.customer_ids, AuditEntry.fields).output(load_json=True).run()
    by_action = {r["action"]: r for r in rows}
    for action in ("read", "note_read", "purchase_read", "consent_read", "timeline_read"):
        assert by_action[action]["customer_ids"] == [str(shop["customer"])], action
    assert "purchase.total" in by_action["purchase_read"]["fields"] and "purchase.lines" in by_action["purchase_read"]["fields"]
    assert "status" in by_action["consent_read"]["fields"]
    assert "timeline.note" in by_action["timeline_read"]["fields"]


async def test_marketing_sees_totals_without_products_or_notes(client) -> None:
    shop = await _shop()
    # no personalization consent: products bought are profiling, not shown to marketing
    other = await make_customer(store=shop["store"], consents=("marketing_email",), email="b@example.com")
    await make_purchase(customer=other, store=shop["store"])
    await make_note(customer=other, author=shop["associate"]["id"])
    marketing = await make_staff(role="marketing")
    result = await gql(client, CUSTOMER_360, {"id": str(other), "first": 10}, await login(client, marketing["email"]))
    c = result["data"]["customer"]
    node = c["purchases"]["edges"][0]["node"]
    assert node["total"] == "149.90" and node["lines"] is None
    assert c["notes"] is None and codes(result) == ["FORBIDDEN"]
    assert {e["kind"] for e in c["timeline"]} <= {"PURCHASE", "RETURN", "CONSENT"}
    assert c["loyalty"] == {"tier": "member", "points": 0, "nextTier": "silver", "pointsToNextTier": 800}
    # with personalization, marketing sees the products
    with_consent = await gql(client, CUSTOMER_360, {"id": str(shop["customer"]), "first": 10}, await login(client, marketing["email"]))
    assert with_consent["data"]["customer"]["purchases"]["edges"][0]["node"]["lines"]


async def test_compliance_gets_no_purchases_loyalty_or_notes_in_the_360(client) -> None:
    shop = await _shop()
    officer = await make_staff(role="compliance_officer")
    result = await gql(client, CUSTOMER_360, {"id": str(shop["customer"]), "first": 10}, await login(client, officer["email"]))
    c = result["data"]["customer"]
    assert c["purchases"] is None and c["notes"] is None and c["loyalty"] is None
    assert sorted(codes(result)) == ["FORBIDDEN", "FORBIDDEN"]
    assert {e["kind"] for e in c["timeline"]} == {"CONSENT"}
    assert len(c["consentSummary"]) == 6


async def test_store_visits_need_the_in_store_recognition_consent(client) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    cid = await make_customer(store=madrid, consents=("personalization",))
    await make_check_in(customer=cid, store=madrid)
    headers = await login(client, associate["email"])
    query = "query($id: ID!) { customer(id: $id) { timeline { kind } } }"
    assert (await gql(client, query, {"id": str(cid)}, headers))["data"]["customer"]["timeline"] == [{"kind": "CONSENT"}]
    await grant(customer=cid, purpose="in_store_recognition")
    kinds = [e["kind"] for e in (await gql(client, query, {"id": str(cid)}, headers))["data"]["customer"]["timeline"]]
    assert "CHECK_IN" in kinds


async def _count_360(client, clean_db, monkeypatch, shop: dict) -> tuple[int, dict]:  # noqa: ANN001
    headers = await login(client, shop["associate"]["email"])
    with counting_statements(clean_db.engine, monkeypatch) as seen:
        result = await gql(client, CUSTOMER_360, {"id": str(shop["customer"]), "first": 50}, headers)
    assert "errors" not in result, result
    return len(seen), result["data"]["customer"]


async def test_the_360_costs_the_same_bounded_number_of_statements_for_1_or_30_of_everything(client, clean_db, monkeypatch) -> None:
    small = await _shop(purchases=1, notes=1, consents=1)
    few, small_360 = await _count_360(client, clean_db, monkeypatch, small)
    assert len(small_360["purchases"]["edges"]) == 1
    large = await _shop(purchases=30, notes=30, consents=30)
    many, large_360 = await _count_360(client, clean_db, monkeypatch, large)
    assert len(large_360["purchases"]["edges"]) == 30 and len(large_360["notes"]) == 30
    # 30 purchases, 1 return, 30 notes, 1 visit, 1 appointment, 1 follow-up, 32 consent answers
    assert len(large_360["timeline"]) == 96
    print(f"\n360 statements on {clean_db.kind}: {few} (1 of each) / {many} (30 of each)")
    assert few == many
    assert many <= STATEMENT_BOUND[clean_db.kind]


async def test_purchases_page_newest_first_with_opaque_cursors_in_graphql_and_rest(client) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    cid = await make_customer(store=madrid, email="ana.cursor@example.com")
    ids = [await make_purchase(customer=cid, store=madrid, channel="online" if i % 2 else "store", occurred_at=ago(i + 1)) for i in range(5)]
    headers = await login(client, associate["email"])
    query = "query($id: ID!, $a: String) { customer(id: $id) { purchases(first: 2, after: $a) { edges { cursor node { id storeId } } pageInfo { hasNextPage endCursor } } } }"
    seen, after = [], None
    while True:
        conn = (await gql(client, query, {"id": str(cid), "a": after}, headers))["data"]["customer"]["purchases"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        for e in conn["edges"]:
            decoded = base64.urlsafe_b64decode(e["cursor"] + "=" * (-len(e["cursor"]) % 4)).decode()
            assert "ana" not in decoded and "example.com" not in decoded
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == [str(i) for i in ids]
    # REST twin
    rest, cursor = [], None
    while True:
        r = await client.get(f"/api/v1/customers/{cid}/purchases", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        rest += [p["id"] for p in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert rest == seen
    one = (await client.get(f"/api/v1/customers/{cid}/purchases", headers=headers)).json()["items"]
    assert one[1]["channel"] == "online" and one[1]["storeId"] is None and one[0]["storeId"] == str(madrid)
    assert set(one[0]) >= {"id", "customerId", "occurredAt", "channel", "storeId", "currency", "total", "lines"}
    assert (await client.get(f"/api/v1/customers/{cid}/purchases", params={"limit": 201}, headers=headers)).status_code == 400
    bad = await client.get(f"/api/v1/customers/{cid}/purchases", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_FAILED"


async def test_purchases_of_another_stores_customer_are_not_found_and_compliance_is_refused(client) -> None:
    madrid, bucharest = await make_store(), await make_store(city="Bucharest", country="RO")
    associate = await make_staff(role="associate", stores=[bucharest])
    cid = await make_customer(store=madrid)
    await make_purchase(customer=cid, store=madrid)
    r = await client.get(f"/api/v1/customers/{cid}/purchases", headers=await login(client, associate["email"]))
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    officer = await make_staff(role="compliance_officer")
    r = await client.get(f"/api/v1/customers/{cid}/purchases", headers=await login(client, officer["email"]))
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


async def test_a_page_of_customers_batches_the_360_fields(client, clean_db, monkeypatch) -> None:
    madrid = await make_store()
    associate = await make_staff(role="associate", stores=[madrid])
    for i in range(3):
        cid = await make_customer(store=madrid, first_name=f"Ana{i}", primary=associate["id"])
        for _ in range(i + 1):
            await make_purchase(customer=cid, store=madrid)
    headers = await login(client, associate["email"])
    query = "{ customers(first: 10) { edges { node { firstName purchases(first: 5) { edges { node { total } } } timeline(first: 5) { kind } loyalty { tier } } } } }"
    with counting_statements(clean_db.engine, monkeypatch) as seen:
        result = await gql(client, query, headers=headers)
    edges = result["data"]["customers"]["edges"]
    assert [len(e["node"]["purchases"]["edges"]) for e in edges] == [1, 2, 3]
    assert len(seen) <= STATEMENT_BOUND[clean_db.kind]


# Modules whose objects belong to the server's handling of a request (the test client's own
# httpx objects are not the service's business).
_SERVER_MODULES = ("graphql", "strawberry", "graphql_schema", "clienteling", "domain", "api", "litestar", "permissions")


async def test_a_finished_360_leaves_no_cyclic_garbage_behind(client) -> None:
    """Everything a GraphQL request built is freed by reference counting when it ends: the
    executor, the request's context and its dataloaders, the rows they cached. Before, both
    executor and context were reference cycles and a 360 left ~500 objects per request for
    the garbage collector, whose passes then took 20-160 ms under load (bench/REPORT.md)."""
    import gc

    shop = await _shop(purchases=3, notes=2, consents=2)
    headers = await login(client, shop["associate"]["email"])
    variables = {"id": str(shop["customer"]), "first": 10}
    assert "errors" not in await gql(client, CUSTOMER_360, variables, headers)  # warm caches
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            result = await gql(client, CUSTOMER_360, variables, headers)
            assert "errors" not in result and result["data"]["customer"]["purchases"]["edges"]
        gc.collect()
        left = sorted({f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage
                       if type(o).__module__.split(".")[0] in _SERVER_MODULES})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []
