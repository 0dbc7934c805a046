"""Client books (mine, a store's), their filters, reassigning a book, and seller KPIs."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from uuid import uuid4

from clienteling.policy_store import PolicyStore
from clienteling.services.audit import AuditTrail
from clienteling.services.client_books import ClientBookService
from clienteling.tables import AuditEntry, Customer
from domain.client_books import parse_filter
from domain.events import customer_channel
from domain.staff import Principal, Role
from tests.factories import make_customer, make_note, make_staff, make_store
from tests.factories_commerce import ago, make_appointment, make_purchase, make_task, make_wishlist_item, set_customer
from tests.integration.conftest import login
from tests.integration.test_graphql import codes, gql

MY_CLIENTS = """
query($f: ClientBookFilterInput, $after: String) {
  myClients(filter: $f, first: 50, after: $after) { edges { node { id firstName email } } pageInfo { hasNextPage endCursor } }
}
"""


def ids(page: dict) -> set[str]:
    return {item["id"] for item in page["items"]}


async def _book() -> dict:
    madrid = await make_store()
    seller = await make_staff(role="associate", stores=[madrid])
    colleague = await make_staff(role="associate", stores=[madrid])
    mine = await make_customer(store=madrid, first_name="Ana", email="ana@example.com", primary=seller["id"])
    shared = await make_customer(store=madrid, first_name="Berta", email="berta@example.com", primary=colleague["id"], secondary=seller["id"])
    theirs = await make_customer(store=madrid, first_name="Carla", email="carla@example.com", primary=colleague["id"])
    return {"store": madrid, "seller": seller, "colleague": colleague, "mine": mine, "shared": shared, "theirs": theirs}


async def test_my_clients_are_my_primary_and_secondary_customers_in_full(client) -> None:
    book = await _book()
    headers = await login(client, book["seller"]["email"])
    edges = (await gql(client, MY_CLIENTS, {}, headers))["data"]["myClients"]["edges"]
    assert [(e["node"]["firstName"], e["node"]["email"]) for e in edges] == [("Ana", "ana@example.com"), ("Berta", "berta@example.com")]
    rest = (await client.get("/api/v1/client-books/me", headers=headers)).json()
    assert ids(rest) == {str(book["mine"]), str(book["shared"])} and rest["nextCursor"] is None
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.customer_ids).where(AuditEntry.action == "list").output(load_json=True).run()
    assert entries and all(set(e["customer_ids"]) == {str(book["mine"]), str(book["shared"])} for e in entries)


async def test_store_clients_are_the_store_customers_as_the_caller_sees_them(client) -> None:
    book = await _book()
    bucharest = await make_store(city="Bucharest", country="RO")
    await make_customer(store=bucharest, first_name="Dana")
    headers = await login(client, book["seller"]["email"])
    page = (await client.get(f"/api/v1/stores/{book['store']}/clients", headers=headers)).json()
    emails = {i["firstName"]: i["email"] for i in page["items"]}
    assert emails == {"Ana": "ana@example.com", "Berta": "berta@example.com", "Carla": "c•••@example.com"}
    refused = await client.get(f"/api/v1/stores/{bucharest}/clients", headers=headers)
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    manager = await make_staff(role="store_manager", stores=[book["store"]])
    query = "query($s: ID!) { storeClients(storeId: $s, first: 2) { edges { node { email } } pageInfo { hasNextPage endCursor } } }"
    conn = (await gql(client, query, {"s": str(book["store"])}, await login(client, manager["email"])))["data"]["storeClients"]
    assert [e["node"]["email"] for e in conn["edges"]] == ["ana@example.com", "berta@example.com"] and conn["pageInfo"]["hasNextPage"]
    hq = await make_staff(role="hq_admin")
    assert len((await client.get(f"/api/v1/stores/{bucharest}/clients", headers=await login(client, hq["email"]))).json()["items"]) == 1
    missing = await client.get(f"/api/v1/stores/{uuid4()}/clients", headers=await login(client, hq["email"]))
    assert missing.status_code == 404


async def test_client_book_filters_vip_lapsed_lifetime_value_and_open_wishlist(client) -> None:
    madrid = await make_store()
    seller = await make_staff(role="associate", stores=[madrid])
    made = {}
    for name in ("vip", "lapsed", "recent", "never", "rich", "wishing", "fulfilled"):
        made[name] = await make_customer(store=madrid, first_name=name.title(), primary=seller["id"])
    await set_customer(made["vip"], vip=True)
    await set_customer(made["lapsed"], last_purchase_at=ago(120), lifetime_value=Decimal("300"))
    await set_customer(made["recent"], last_purchase_at=ago(10), lifetime_value=Decimal("1999.99"))
    await set_customer(made["rich"], last_purchase_at=ago(30), lifetime_value=Decimal("2000.00"))
    await make_wishlist_item(customer=made["wishing"], added_by=seller["id"])
    await make_wishlist_item(customer=made["fulfilled"], added_by=seller["id"], fulfilled_at=ago(1))
    headers = await login(client, seller["email"])

    async def names(**params) -> set[str]:  # noqa: ANN003
        r = await client.get("/api/v1/client-books/me", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return {i["firstName"] for i in r.json()["items"]}

    assert await names(vip="true") == {"Vip"}
    assert await names(lapsedDays=90) == {"Lapsed"}  # never bought is not lapsed
    assert await names(lapsedDays=20) == {"Lapsed", "Rich"}
    assert await names(minLifetimeValue="2000") == {"Rich"}
    assert await names(hasOpenWishlist="true") == {"Wishing"}
    assert "Wishing" not in await names(hasOpenWishlist="false")
    assert await names(lapsedDays=20, minLifetimeValue="1000.5") == {"Rich"}
    graphql = await gql(client, MY_CLIENTS, {"f": {"vip": True}}, headers)
    assert [e["node"]["firstName"] for e in graphql["data"]["myClients"]["edges"]] == ["Vip"]
    bad = await client.get("/api/v1/client-books/me", params={"minLifetimeValue": "lots"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "VALIDATION_FAILED"
    assert (await client.get("/api/v1/client-books/me", params={"lapsedDays": 0}, headers=headers)).status_code == 400


async def test_filters_on_what_the_role_may_not_read_are_refused(client) -> None:
    madrid = await make_store()
    officer = await make_staff(role="compliance_officer")
    marketing = await make_staff(role="marketing")
    r = await client.get(f"/api/v1/stores/{madrid}/clients", params={"lapsedDays": 30}, headers=await login(client, officer["email"]))
    assert r.status_code == 403 and r.json()["field"] == "lapsedDays"
    r = await client.get(f"/api/v1/stores/{madrid}/clients", params={"birthdayWithinDays": 7}, headers=await login(client, marketing["email"]))
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


async def test_birthday_filter_crosses_the_new_year(clean_db) -> None:
    madrid = await make_store()
    seller = await make_staff(role="associate", stores=[madrid])
    expected = set()
    for mmdd, inside in ((1219, False), (1220, True), (1231, True), (101, True), (119, True), (120, False), (601, False)):
        cid = await make_customer(store=madrid, first_name=f"B{mmdd:04d}", primary=seller["id"])
        await set_customer(cid, birth_mmdd=mmdd)
        if inside:
            expected.add(cid)
    await make_customer(store=madrid, first_name="Nobirthday", primary=seller["id"], birthdate=None)
    december_20 = dt.datetime(2026, 12, 20, 9, 0, tzinfo=dt.timezone.utc)
    policies = PolicyStore()
    service = ClientBookService(policies, AuditTrail(policies), clock=lambda: december_20)
    principal = Principal(staff_id=seller["id"], role=Role.ASSOCIATE, store_ids=frozenset([madrid]), session_id=uuid4())
    page, _ = await service.mine(principal, parse_filter({"birthdayWithinDays": 30}), limit=50, cursor=None)
    assert {c.id for c in page.items} == expected
    page, _ = await service.mine(principal, parse_filter({"birthdayWithinDays": 0}), limit=50, cursor=None)
    assert {c.first_name for c in page.items} == {"B1220"}


async def test_client_book_pages_with_a_cursor(client) -> None:
    madrid = await make_store()
    seller = await make_staff(role="associate", stores=[madrid])
    for i in range(5):
        await make_customer(store=madrid, first_name=f"Client{i}", primary=seller["id"])
    headers = await login(client, seller["email"])
    seen, cursor = [], None
    while True:
        body = (await client.get("/api/v1/client-books/me", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers)).json()
        seen += [i["firstName"] for i in body["items"]]
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert seen == [f"Client{i}" for i in range(5)]


async def _leaving_seller() -> dict:
    madrid, barcelona = await make_store(), await make_store(city="Barcelona")
    leaving = await make_staff(role="associate", stores=[madrid, barcelona], active=False)
    taking = await make_staff(role="associate", stores=[madrid])
    other = await make_staff(role="associate", stores=[madrid])
    c = {
        "primary": await make_customer(store=madrid, first_name="P", primary=leaving["id"]),
        "secondary": await make_customer(store=madrid, first_name="S", primary=other["id"], secondary=leaving["id"]),
        "both": await make_customer(store=madrid, first_name="X", primary=leaving["id"], secondary=taking["id"]),
        "elsewhere": await make_customer(store=barcelona, first_name="E", primary=leaving["id"]),
        "restricted": await make_customer(store=madrid, first_name="R", primary=leaving["id"]),
        "untouched": await make_customer(store=madrid, first_name="U", primary=other["id"]),
    }
    await set_customer(c["restricted"], restricted_at=ago(1))
    return {"madrid": madrid, "barcelona": barcelona, "leaving": leaving, "taking": taking, "other": other, "c": c}


async def _associates(cid) -> tuple:  # noqa: ANN001
    row = await Customer.select(Customer.primary_associate, Customer.secondary_associate, Customer.version).where(Customer.id == cid).first().run()
    return row["primary_associate"], row["secondary_associate"], row["version"]


async def test_manager_reassigns_a_leaving_sellers_book_in_one_step(client, app) -> None:
    s = await _leaving_seller()
    manager = await make_staff(role="store_manager", stores=[s["madrid"]])
    leaving, taking, other, c = s["leaving"]["id"], s["taking"]["id"], s["other"]["id"], s["c"]
    sub = app.state.services.events.subscribe([customer_channel(c["primary"])])
    waiting = asyncio.ensure_future(anext(sub))
    await asyncio.sleep(0)
    body = {"fromAssociateId": str(leaving), "toAssociateId": str(taking), "storeId": str(s["madrid"])}
    r = await client.post("/api/v1/client-books/reassign", json=body, headers=await login(client, manager["email"]))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["moved"] == 3 and result["primaryMoved"] == 2 and result["secondaryMoved"] == 2 and result["skippedRestricted"] == 1
    assert set(result["customerIds"]) == {str(c["primary"]), str(c["secondary"]), str(c["both"])}
    assert await _associates(c["primary"]) == (taking, None, 2)
    assert await _associates(c["secondary"]) == (other, taking, 2)
    assert await _associates(c["both"]) == (taking, None, 2)  # never primary and secondary at once
    assert (await _associates(c["elsewhere"]))[0] == leaving  # another store's book stays
    assert (await _associates(c["restricted"]))[0] == leaving
    assert (await _associates(c["untouched"]))[2] == 1
    entry = (await AuditEntry.select().where(AuditEntry.action == "update").output(load_json=True).run())[-1]
    assert set(entry["customer_ids"]) == set(result["customerIds"])
    assert entry["fields"] == ["primary_associate_id", "secondary_associate_id"]
    event = await asyncio.wait_for(waiting, 2)
    assert event.kind == "customer_updated" and event.customer_id == c["primary"] and "primary_associate_id" in event.fields
    # the new seller now finds them in their book
    mine = (await client.get("/api/v1/client-books/me", headers=await login(client, s["taking"]["email"]))).json()
    assert ids(mine) == {str(c["primary"]), str(c["secondary"]), str(c["both"])}


async def test_reassign_is_refused_to_associates_other_stores_and_non_sellers(client) -> None:
    s = await _leaving_seller()
    body = {"fromAssociateId": str(s["leaving"]["id"]), "toAssociateId": str(s["taking"]["id"]), "storeId": str(s["madrid"])}
    r = await client.post("/api/v1/client-books/reassign", json=body, headers=await login(client, s["other"]["email"]))
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    barcelona_manager = await make_staff(role="store_manager", stores=[s["barcelona"]])
    r = await client.post("/api/v1/client-books/reassign", json=body, headers=await login(client, barcelona_manager["email"]))
    assert r.status_code == 403
    manager = await make_staff(role="store_manager", stores=[s["madrid"]])
    headers = await login(client, manager["email"])
    outsider = await make_staff(role="associate", stores=[s["barcelona"]])
    r = await client.post("/api/v1/client-books/reassign", json={**body, "toAssociateId": str(outsider["id"])}, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED"
    assert (await _associates(s["c"]["primary"]))[0] == s["leaving"]["id"]
    mutation = "mutation($f: ID!, $t: ID!, $s: ID!) { reassignClientBook(fromAssociateId: $f, toAssociateId: $t, storeId: $s) { moved } }"
    refused = await gql(client, mutation, {"f": body["fromAssociateId"], "t": body["toAssociateId"], "s": body["storeId"]}, await login(client, s["other"]["email"]))
    assert codes(refused) == ["FORBIDDEN"]
    done = await gql(client, mutation, {"f": body["fromAssociateId"], "t": body["toAssociateId"], "s": body["storeId"]}, headers)
    assert done["data"]["reassignClientBook"]["moved"] == 3
    hq = await make_staff(role="hq_admin")
    back = {"fromAssociateId": str(s["leaving"]["id"]), "toAssociateId": str(s["other"]["id"]), "storeId": str(s["barcelona"])}
    assert (await client.post("/api/v1/client-books/reassign", json=back, headers=await login(client, hq["email"]))).status_code == 400  # other works in Madrid only


# --- KPIs -----------------------------------------------------------------------------------

KPIS = "query($s: ID, $a: ID, $f: DateTime, $t: DateTime) { kpis(storeId: $s, associateId: $a, from: $f, to: $t) { from to associates { displayName figures { clientsContacted followUpsDue followUpsOnTime appointmentsHeld influencedSales { currency total } } } totals { clientsContacted influencedSales { currency total } } } }"


async def _kpi_shop() -> dict:
    """One seller's crafted month: four clients contacted, three follow-ups due (one on
    time), one appointment held, sales of 149.90 EUR and 200.00 RON by their clients."""
    madrid = await make_store()
    seller = await make_staff(role="associate", stores=[madrid])
    colleague = await make_staff(role="associate", stores=[madrid])
    c = [await make_customer(store=madrid, first_name=f"K{i}", primary=seller["id"] if i < 2 else colleague["id"]) for i in range(7)]
    # contacts in the period: notes on c0 and c1, a follow-up completed for c1, an appointment
    # held with c2, a wishlist item added for c3; a note on c4 before the period does not count
    await make_note(customer=c[0], author=seller["id"])
    await make_note(customer=c[1], author=seller["id"])
    await make_task(store=madrid, assignee=seller["id"], customer=c[1], due_at=ago(3), completed_at=ago(4))  # on time
    await make_appointment(customer=c[2], associate=seller["id"], store=madrid, starts_at=ago(5), status="held")
    await make_appointment(customer=c[5], associate=seller["id"], store=madrid, starts_at=ago(6), status="cancelled")
    await make_wishlist_item(customer=c[3], added_by=seller["id"])
    old_note = await make_note(customer=c[4], author=seller["id"])
    from clienteling.tables import Note

    await Note.update({Note.created_at: ago(90)}).where(Note.id == old_note).run()
    await make_task(store=madrid, assignee=seller["id"], customer=c[0], due_at=ago(2), completed_at=ago(1))  # late
    await make_task(store=madrid, assignee=seller["id"], customer=c[0], due_at=ago(1))  # overdue, open
    await make_task(store=madrid, assignee=seller["id"], customer=c[0], due_at=ago(-5))  # not due yet
    await make_task(store=madrid, assignee=colleague["id"], customer=c[5], due_at=ago(1), completed_at=ago(2), completed_by=colleague["id"])
    # influenced sales: c0 and c1 are the seller's clients
    await make_purchase(customer=c[0], store=madrid, occurred_at=ago(7), lines=[("A", "a", 1, "100.00")])
    await make_purchase(customer=c[1], channel="online", occurred_at=ago(8), lines=[("B", "b", 1, "49.90")])
    await make_purchase(customer=c[1], store=madrid, currency="RON", occurred_at=ago(9), lines=[("C", "c", 2, "100.00")])
    await make_purchase(customer=c[0], store=madrid, occurred_at=ago(60), lines=[("D", "d", 1, "999.00")])  # before the period
    await make_purchase(customer=c[5], store=madrid, occurred_at=ago(7), lines=[("E", "e", 1, "10.00")])  # colleague's client
    return {"store": madrid, "seller": seller, "colleague": colleague}


async def test_kpis_of_a_seller_over_a_period(client) -> None:
    shop = await _kpi_shop()
    headers = await login(client, shop["seller"]["email"])
    r = await client.get("/api/v1/kpis", params={"from": ago(30).isoformat(), "to": ago(0).isoformat()}, headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert [a["associateId"] for a in report["associates"]] == [str(shop["seller"]["id"])]
    figures = report["associates"][0]["figures"]
    assert figures == {
        "clientsContacted": 4, "followUpsDue": 3, "followUpsOnTime": 1, "appointmentsHeld": 1,
        "influencedSales": [{"currency": "EUR", "total": "149.90"}, {"currency": "RON", "total": "200.00"}],
    }
    assert report["totals"]["clientsContacted"] == 4
    assert not await AuditEntry.select().where(AuditEntry.action == "list").run()  # aggregates: not audited
    gql_report = (await gql(client, KPIS, {}, headers))["data"]["kpis"]  # default period: the last 30 days
    assert gql_report["associates"][0]["figures"]["clientsContacted"] == 4


async def test_manager_sees_every_seller_of_the_store_and_others_are_refused(client) -> None:
    shop = await _kpi_shop()
    manager = await make_staff(role="store_manager", stores=[shop["store"]])
    report = (await gql(client, KPIS, {"s": str(shop["store"])}, await login(client, manager["email"])))["data"]["kpis"]
    by_name = {a["displayName"]: a["figures"] for a in report["associates"]}
    assert by_name[shop["seller"]["email"].split("@")[0]]["clientsContacted"] == 4
    colleague = by_name[shop["colleague"]["email"].split("@")[0]]
    assert colleague["followUpsDue"] == 1 and colleague["followUpsOnTime"] == 1 and colleague["clientsContacted"] == 1
    assert colleague["influencedSales"] == [{"currency": "EUR", "total": "10.00"}]
    assert by_name[manager["email"].split("@")[0]]["clientsContacted"] == 0
    assert report["totals"]["clientsContacted"] == 5  # distinct across the sellers
    assert report["totals"]["influencedSales"] == [{"currency": "EUR", "total": "159.90"}, {"currency": "RON", "total": "200.00"}]
    seller = await login(client, shop["seller"]["email"])
    r = await client.get("/api/v1/kpis", params={"associateId": str(shop["colleague"]["id"])}, headers=seller)
    assert r.status_code == 403
    r = await client.get("/api/v1/kpis", params={"storeId": str(shop["store"])}, headers=seller)
    assert r.status_code == 403
    other_manager = await make_staff(role="store_manager", stores=[await make_store()])
    r = await client.get("/api/v1/kpis", params={"storeId": str(shop["store"])}, headers=await login(client, other_manager["email"]))
    assert r.status_code == 403
    for role in ("marketing", "compliance_officer"):
        staff = await make_staff(role=role)
        r = await client.get("/api/v1/kpis", headers=await login(client, staff["email"]))
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    hq = await make_staff(role="hq_admin")
    r = await client.get("/api/v1/kpis", params={"storeId": str(shop["store"])}, headers=await login(client, hq["email"]))
    assert r.status_code == 200 and r.json()["totals"]["clientsContacted"] == 5
    bad = await client.get("/api/v1/kpis", params={"from": "2026-01-01T00:00:00"}, headers=seller)
    assert bad.status_code == 400
