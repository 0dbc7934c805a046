"""Data-subject rights end to end: export, erasure, restriction and retention, on SQLite and
PostgreSQL, through REST, GraphQL and the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from piccolo.columns import JSON, Text, Varchar

from clienteling.policy_store import PolicyStore
from clienteling.services.audit import AuditTrail
from clienteling.services.data_subject import DataSubjectService
from clienteling.tables import (
    ALL_TABLES,
    Appointment,
    AuditEntry,
    CheckIn,
    ConsentNotice,
    ConsentRecord,
    Customer,
    ErasureRequest,
    Note,
    IdempotencyRecord,
    Purchase,
    PurchaseLine,
    PurchaseReturn,
    Task,
    WishlistItem,
)
from tests.factories import make_customer, make_note, make_staff, make_store
from tests.integration.conftest import login

# Personal values of the seeded customer: distinctive, so a substring match means a leak.
FIRST, LAST = "Zebulonia", "Quillfeather"
EMAIL = "zebulonia.quill@example.org"
PHONE, PHONE_DIGITS = "+34 611 222 333", "611222333"
CARD = "LY778899"
SHARED_NOTE = "Allergic to wool, loves freshwater pearls"
PRIVATE_NOTE = "Mentioned her sister's wedding in Sevilla"
EVIDENCE = "signature-capture zq-sig-4411"
REASON = "Customer phoned Bucharest about parcel 5521"
DEVICE = "tablet-zq-0042"
WISH = "Wants the emerald brooch for her fortieth"
TASK_DETAILS = "Ring after six, her husband answers otherwise"
APPOINTMENT = "Bring the bridal catalogue and the tiara"
SECRETS = [FIRST, LAST, EMAIL, PHONE, PHONE_DIGITS, CARD, SHARED_NOTE, PRIVATE_NOTE, EVIDENCE, REASON, DEVICE, WISH, TASK_DETAILS, APPOINTMENT]
NOTICE_TEXT = "Acepto recibir novedades por correo electrónico."

DAY = dt.timedelta(days=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def _notice(*, purpose: str = "marketing_email", version: str = "2026-01", language: str = "es") -> dict[str, Any]:
    values = {
        "id": uuid4(), "purpose": purpose, "version": version, "language": language, "text": NOTICE_TEXT,
        "sha256": hashlib.sha256(NOTICE_TEXT.encode()).hexdigest(),
    }
    await ConsentNotice.insert(ConsentNotice(**values)).run()
    return values


async def _consent(*, customer: UUID, notice: dict[str, Any], at: dt.datetime, status: str = "granted", evidence: str | None = None, device_id: str | None = None) -> UUID:
    record_id = uuid4()
    await ConsentRecord.insert(
        ConsentRecord(
            id=record_id, customer=customer, purpose=notice["purpose"], status=status, occurred_at=at, channel="store_tablet",
            device_id=device_id, policy_version=notice["version"], notice_sha256=notice["sha256"], language=notice["language"],
            evidence=evidence, notice=notice["id"],
        )
    ).run()
    return record_id


async def _purchase(*, customer: UUID, store: UUID | None, at: dt.datetime, lines: list[tuple[str, str, int, str]]) -> UUID:
    purchase_id = uuid4()
    total = sum(Decimal(price) * qty for _, _, qty, price in lines)
    await Purchase.insert(
        Purchase(id=purchase_id, external_id=f"POS-{purchase_id.hex[:8]}", customer=customer, store=store, channel="store", occurred_at=at, currency="EUR", total=total)
    ).run()
    for sku, name, qty, price in lines:
        await PurchaseLine.insert(PurchaseLine(id=uuid4(), purchase=purchase_id, sku=sku, name=name, quantity=qty, unit_price=Decimal(price))).run()
    return purchase_id


async def _activity(*, customer: UUID, store: UUID, seller: UUID, purchase: UUID) -> dict[str, UUID]:
    """Wishlist, task, appointment, check-in and return rows about the customer."""
    ids = {name: uuid4() for name in ("wish", "task", "appointment", "check_in", "return")}
    start = _now() + 3 * DAY
    await WishlistItem.insert(WishlistItem(id=ids["wish"], customer=customer, sku="SKU-7", product_name="Emerald brooch", size=None, colour="green", notes=WISH, added_by=seller)).run()
    await Task.insert(Task(id=ids["task"], customer=customer, store=store, assignee=seller, created_by=seller, kind="follow_up", title=f"Call {FIRST} about the brooch", details=TASK_DETAILS, due_at=start)).run()
    await Appointment.insert(Appointment(id=ids["appointment"], customer=customer, associate=seller, store=store, channel="in_store", starts_at=start, ends_at=start + dt.timedelta(hours=1), notes=APPOINTMENT, created_by=seller)).run()
    await CheckIn.insert(CheckIn(id=ids["check_in"], external_id="CHK-1", customer=customer, store=store, occurred_at=_now() - DAY)).run()
    await PurchaseReturn.insert(
        PurchaseReturn(id=ids["return"], external_id="RET-1", purchase=purchase, customer=customer, store=store, occurred_at=_now() - 20 * DAY,
                       currency="EUR", total=Decimal("64.95"), lines=[{"sku": "SKU-1", "name": "Linen shirt", "quantity": 1, "unitPrice": "64.95"}])
    ).run()
    return ids


async def _seed(client) -> dict[str, Any]:  # noqa: ANN001
    """One customer with every kind of data this system holds, and staff of every role."""
    madrid = await make_store(code="MAD")
    bucharest = await make_store(code="BUC", city="Bucharest", country="RO")
    staff = {
        "associate": await make_staff(role="associate", stores=[madrid]),
        "outsider": await make_staff(role="associate", stores=[bucharest]),
        "manager": await make_staff(role="store_manager", stores=[madrid]),
        "hq": await make_staff(role="hq_admin"),
        "marketing": await make_staff(role="marketing"),
        "compliance": await make_staff(role="compliance_officer"),
    }
    seller = staff["associate"]
    cid = await make_customer(
        store=madrid, first_name=FIRST, last_name=LAST, email=EMAIL, phone=PHONE, primary=seller["id"],
        loyalty_number=CARD, sizes={"shoe": "38"}, preferences={"colors": ["navy"]}, consents=("personalization",),
    )
    # birth_mmdd as the customer service derives it from the birthdate (1990-05-17).
    await Customer.update({Customer.tags: ["pearls"], Customer.vip: True, Customer.birth_mmdd: 517}).where(Customer.id == cid).run()
    notice = await _notice()
    await _consent(customer=cid, notice=notice, at=_now() - 10 * DAY, evidence=EVIDENCE, device_id=DEVICE)
    await _consent(customer=cid, notice=notice, at=_now() - 2 * DAY, status="withdrawn")
    purchase = await _purchase(customer=cid, store=madrid, at=_now() - 30 * DAY, lines=[("SKU-1", "Linen shirt", 2, "64.95"), ("SKU-2", "Pearl earrings", 1, "129.90")])
    shared = await make_note(customer=cid, author=seller["id"], body=SHARED_NOTE, pinned=True)
    activity = await _activity(customer=cid, store=madrid, seller=seller["id"], purchase=purchase)
    headers = {role: await login(client, s["email"]) for role, s in staff.items()}
    # Added over the API with an Idempotency-Key: the stored answer quotes the note.
    added = await client.post(
        f"/api/v1/customers/{cid}/notes", json={"body": PRIVATE_NOTE, "visibility": "private"},
        headers=headers["associate"] | {"Idempotency-Key": "note-zq-1"},
    )
    assert added.status_code == 201, added.text
    private = UUID(added.json()["id"])
    assert (await client.get(f"/api/v1/customers/{cid}", headers=headers["associate"])).status_code == 200
    opened = await client.post(f"/api/v1/customers/{cid}/break-glass", json={"reason": REASON}, headers=headers["outsider"])
    assert opened.status_code == 200, opened.text
    return {
        "customer": cid, "madrid": madrid, "staff": staff, "headers": headers, "notice": notice, "purchase": purchase,
        "notes": {shared, private}, "grant": opened.json()["grant"]["id"], "activity": activity,
    }


async def _text_values() -> list[tuple[str, str, str]]:
    """(table, column, text) for every text, varchar and JSON value in every table."""
    found = []
    for table in ALL_TABLES:
        columns = [c for c in table._meta.columns if isinstance(c, (Varchar, Text, JSON))]
        if not columns:
            continue
        for row in await table.select(*columns).run():
            for name, value in row.items():
                if value is not None:
                    found.append((table._meta.tablename, name, value if isinstance(value, str) else repr(value)))
    return found


async def _leaks() -> list[tuple[str, str, str]]:
    return [(t, c, s) for t, c, v in await _text_values() for s in SECRETS if s.lower() in v.lower()]


async def _erase(client, seed: dict[str, Any], reference: str = "DSR-2026-0042", customer: UUID | None = None):  # noqa: ANN001, ANN202
    return await client.post(
        f"/api/v1/customers/{customer or seed['customer']}/erasure", json={"requestReference": reference}, headers=seed["headers"]["compliance"]
    )


async def _audit(**filters: Any) -> list[dict[str, Any]]:
    rows = await AuditEntry.select().order_by(AuditEntry.seq).output(load_json=True).run()
    return [r for r in rows if all(r[k] == v for k, v in filters.items())]


async def gql(client, query: str, variables: dict, headers: dict) -> dict:  # noqa: ANN001
    r = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def codes(result: dict) -> list[str]:
    return [e["extensions"]["code"] for e in result.get("errors", [])]


# --- Export ---------------------------------------------------------------------------


async def test_export_contains_every_kind_of_data_seeded_for_the_customer(client) -> None:
    seed = await _seed(client)
    cid = seed["customer"]
    r = await client.get(f"/api/v1/customers/{cid}/export", headers=seed["headers"]["compliance"])
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="customer-{cid}-export.json"'
    assert r.headers["content-type"].startswith("application/json") and r.headers["cache-control"] == "no-store"
    doc = r.json()
    assert doc["formatVersion"] == "1" and doc["customerId"] == str(cid) and doc["exportedAt"]
    s = doc["sections"]
    assert list(s) == [
        "profile", "purchases", "returns", "notes", "wishlist", "tasks", "appointments", "checkIns", "consents",
        "breakGlassGrants", "erasureRequests", "accessLog", "loyaltyLedger", "memberAccount", "pushSubscriptions",
        "notificationHistory",
    ]

    profile = s["profile"]
    assert (profile["firstName"], profile["lastName"], profile["email"], profile["phone"]) == (FIRST, LAST, EMAIL, PHONE)
    assert profile["birthdate"] == "1990-05-17" and profile["loyaltyNumber"] == CARD and profile["vip"] is True
    assert profile["sizes"] == {"shoe": "38"} and profile["preferences"] == {"colors": ["navy"]} and profile["tags"] == ["pearls"]
    assert profile["primaryAssociateId"] == str(seed["staff"]["associate"]["id"]) and profile["homeStoreId"] == str(seed["madrid"])
    assert profile["erasedAt"] is None and profile["restrictedAt"] is None and profile["nameKey"]
    assert profile["birthMmdd"] == 517 and "lifetimeValueEur" in profile and "lastPurchaseAt" in profile

    (purchase,) = s["purchases"]
    assert purchase["id"] == str(seed["purchase"]) and purchase["total"] == "259.80" and purchase["currency"] == "EUR"
    assert [(ln["sku"], ln["quantity"], ln["unitPrice"]) for ln in purchase["lines"]] == [("SKU-1", 2, "64.95"), ("SKU-2", 1, "129.90")]

    (ret,) = s["returns"]
    assert ret["purchaseId"] == str(seed["purchase"]) and ret["total"] == "64.95" and ret["lines"][0]["sku"] == "SKU-1"
    activity = seed["activity"]
    assert [(w["id"], w["notes"]) for w in s["wishlist"]] == [(str(activity["wish"]), WISH)]
    assert [(t["id"], t["details"]) for t in s["tasks"]] == [(str(activity["task"]), TASK_DETAILS)]
    assert [(a["id"], a["notes"]) for a in s["appointments"]] == [(str(activity["appointment"]), APPOINTMENT)]
    assert [(c["id"], c["externalId"]) for c in s["checkIns"]] == [(str(activity["check_in"]), "CHK-1")]

    assert {n["id"] for n in s["notes"]} == {str(n) for n in seed["notes"]}
    assert {(n["body"], n["visibility"], n["authorId"]) for n in s["notes"]} == {
        (SHARED_NOTE, "shared", str(seed["staff"]["associate"]["id"])), (PRIVATE_NOTE, "private", str(seed["staff"]["associate"]["id"])),
    }

    consents = s["consents"]
    assert [c["status"] for c in consents if c["purpose"] == "marketing_email"] == ["granted", "withdrawn"]
    granted = next(c for c in consents if c["evidence"])
    assert granted["evidence"] == EVIDENCE and granted["deviceId"] == DEVICE and granted["language"] == "es"
    notice = seed["notice"]
    assert granted["notice"] == {
        "id": str(notice["id"]), "purpose": "marketing_email", "version": "2026-01", "language": "es",
        "sha256": notice["sha256"], "text": NOTICE_TEXT, "publishedAt": granted["notice"]["publishedAt"],
    }
    assert granted["noticeSha256"] == notice["sha256"] and granted["policyVersion"] == "2026-01"
    assert any(c["purpose"] == "personalization" and c["notice"] is None for c in consents)

    (grant,) = s["breakGlassGrants"]
    assert grant["id"] == seed["grant"] and grant["reason"] == REASON and grant["staffId"] == str(seed["staff"]["outsider"]["id"])
    assert s["erasureRequests"] == []

    log = s["accessLog"]
    reads = [e for e in log if e["action"] == "read" and e["actorId"] == str(seed["staff"]["associate"]["id"])]
    assert reads and reads[0]["surface"] == "rest" and "email" in reads[0]["fields"] and reads[0]["hash"]
    assert any(e["action"] == "break_glass" and e["reference"] == seed["grant"] for e in log)
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)


async def test_export_is_audited_with_the_request_reference(client) -> None:
    seed = await _seed(client)
    cid = seed["customer"]
    r = await client.get(f"/api/v1/customers/{cid}/export", params={"requestReference": "DSR-7"}, headers=seed["headers"]["compliance"])
    assert r.status_code == 200
    (entry,) = await _audit(action="export")
    assert entry["customer_ids"] == [str(cid)] and entry["reference"] == "DSR-7" and entry["purpose"] == "data_subject_request"
    assert entry["actor_id"] == seed["staff"]["compliance"]["id"] and "export.notes" in entry["fields"]
    assert not [s for s in SECRETS if s.lower() in str(entry).lower()]


@pytest.mark.parametrize("role", ["associate", "manager", "hq", "marketing"])
async def test_only_compliance_officers_export_erase_and_restrict(client, role) -> None:  # noqa: ANN001
    seed = await _seed(client)
    cid, headers = seed["customer"], seed["headers"][role]
    calls = [
        client.get(f"/api/v1/customers/{cid}/export", headers=headers),
        client.post(f"/api/v1/customers/{cid}/erasure", json={"requestReference": "DSR-1"}, headers=headers),
        client.post(f"/api/v1/customers/{cid}/restriction", json={"restricted": True, "requestReference": "DSR-1"}, headers=headers),
    ]
    for call in calls:
        r = await call
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", r.text
    assert await _audit(action="export") == [] and await _audit(action="erase") == []
    assert (await Customer.select(Customer.first_name, Customer.restricted_at).where(Customer.id == cid).first().run()) == {"first_name": FIRST, "restricted_at": None}


async def test_unknown_customer_is_404_and_bad_requests_are_400(client) -> None:
    seed = await _seed(client)
    ch = seed["headers"]["compliance"]
    ghost = uuid4()
    assert (await client.get(f"/api/v1/customers/{ghost}/export", headers=ch)).status_code == 404
    assert (await _erase(client, seed, customer=ghost)).status_code == 404
    assert (await client.post(f"/api/v1/customers/{ghost}/restriction", json={"restricted": True, "requestReference": "R"}, headers=ch)).status_code == 404
    for body in ({}, {"requestReference": ""}, {"requestReference": "x" * 101}, {"requestReference": 42}):
        r = await client.post(f"/api/v1/customers/{seed['customer']}/erasure", json=body, headers=ch)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED", body
    assert (await client.post(f"/api/v1/customers/{seed['customer']}/restriction", json={"requestReference": "R"}, headers=ch)).status_code == 400
    assert (await client.get(f"/api/v1/customers/{seed['customer']}/export", params={"requestReference": "x" * 101}, headers=ch)).status_code == 400
    assert (await client.get(f"/api/v1/customers/{seed['customer']}/export")).status_code == 401
    assert await ErasureRequest.count().run() == 0 and await _audit(action="erase") == []


# --- Erasure --------------------------------------------------------------------------


async def test_erasure_leaves_no_personal_value_in_any_text_column(client) -> None:
    seed = await _seed(client)
    before = await _leaks()
    # The scan itself finds the seeded values where they live before the erasure.
    assert {s for _, _, s in before} == set(SECRETS)
    r = await _erase(client, seed)
    assert r.status_code == 200, r.text
    assert await _leaks() == []


async def test_erasure_keeps_purchases_and_consent_proof_pseudonymised(client) -> None:
    seed = await _seed(client)
    cid = seed["customer"]
    before = await Customer.select(Customer.birthdate, Customer.birth_mmdd).where(Customer.id == cid).first().run()
    assert (before["birthdate"], before["birth_mmdd"]) == (dt.date(1990, 5, 17), 517)
    r = await _erase(client, seed)
    body = r.json()
    assert body["status"] == "erased" and body["requestReference"] == "DSR-2026-0042" and body["customerId"] == str(cid)
    assert body["requestedBy"] == str(seed["staff"]["compliance"]["id"]) and body["erasedAt"] == body["completedAt"]
    row = await Customer.select().where(Customer.id == cid).output(load_json=True).first().run()
    assert (row["first_name"], row["last_name"], row["email"], row["phone"], row["birthdate"], row["loyalty_number"]) == ("Erased", "Erased", None, None, None, None)
    # Nothing derived from the erased values is left either: search keys and the birthday key.
    assert (row["name_key"], row["email_key"], row["phone_key"], row["birth_mmdd"]) == ("erased erased", None, None, None)
    assert (row["sizes"], row["preferences"], row["tags"], row["vip"], row["primary_associate"]) == ({}, {}, [], False, None)
    assert row["erased_at"] is not None and row["deleted_at"] is not None and row["version"] == 2
    assert await Note.count().where(Note.customer == cid).run() == 0
    assert await Purchase.count().where(Purchase.customer == cid).run() == 1 and await PurchaseLine.count().run() == 2
    assert await PurchaseReturn.count().where(PurchaseReturn.customer == cid).run() == 1
    for table in (WishlistItem, Task, Appointment, CheckIn):
        assert await table.count().where(table.customer == cid).run() == 0, table
    assert await IdempotencyRecord.count().run() == 0
    consents = await ConsentRecord.select().where(ConsentRecord.customer == cid).run()
    assert len(consents) == 3 and all(c["evidence"] is None and c["device_id"] is None for c in consents)
    assert {c["notice_sha256"] for c in consents if c["notice"]} == {seed["notice"]["sha256"]}
    (entry,) = await _audit(action="erase")
    assert entry["reference"] == "DSR-2026-0042" and entry["customer_ids"] == [str(cid)] and "email" in entry["fields"]
    # What remains exports, pseudonymised.
    doc = (await client.get(f"/api/v1/customers/{cid}/export", headers=seed["headers"]["compliance"])).json()["sections"]
    assert doc["profile"]["firstName"] == "Erased" and doc["profile"]["erasedAt"] and doc["notes"] == []
    assert doc["purchases"][0]["total"] == "259.80" and doc["breakGlassGrants"][0]["reason"] == "[erased]"
    assert [e["reference"] for e in doc["erasureRequests"]] == ["DSR-2026-0042"]
    assert any(e["action"] == "erase" for e in doc["accessLog"])


async def test_erasure_is_idempotent_by_request_reference(client) -> None:
    seed = await _seed(client)
    first = await _erase(client, seed)
    again = await _erase(client, seed)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(await _audit(action="erase")) == 1 and await ErasureRequest.count().run() == 1
    version = (await Customer.select(Customer.version).where(Customer.id == seed["customer"]).first().run())["version"]
    other = await _erase(client, seed, reference="DSR-2026-0099")
    assert other.status_code == 200
    body = other.json()
    assert body["status"] == "already_erased" and body["requestReference"] == "DSR-2026-0099"
    assert body["erasedAt"] == first.json()["erasedAt"] and body["completedAt"] > body["erasedAt"]
    assert [e["reference"] for e in await _audit(action="erase")] == ["DSR-2026-0042", "DSR-2026-0099"]
    assert await ErasureRequest.count().run() == 2
    assert (await Customer.select(Customer.version).where(Customer.id == seed["customer"]).first().run())["version"] == version
    assert (await _erase(client, seed, reference="DSR-2026-0099")).json() == body


async def test_concurrent_requests_with_one_reference_erase_once(client) -> None:
    seed = await _seed(client)
    other = await make_customer(store=seed["madrid"], first_name="Ion", last_name="Popescu", email=None, phone=None)
    same = await asyncio.gather(*[_erase(client, seed, reference="DSR-RACE") for _ in range(3)])
    assert {r.status_code for r in same} == {200} and len({r.text for r in same}) == 1
    assert len(await _audit(action="erase")) == 1
    raced = await asyncio.gather(_erase(client, seed, reference="DSR-RACE-2"), _erase(client, seed, reference="DSR-RACE-2", customer=other))
    assert sorted(r.status_code for r in raced) == [200, 409]
    assert await ErasureRequest.count().run() == 2 and len(await _audit()) == len({e["seq"] for e in await _audit()})
    assert (await client.get("/api/v1/audit/verify", headers=seed["headers"]["compliance"])).json()["ok"] is True


async def test_a_reference_used_for_one_customer_is_refused_for_another(client) -> None:
    seed = await _seed(client)
    other = await make_customer(store=seed["madrid"], first_name="Ion", last_name="Popescu", email=None, phone=None)
    await _erase(client, seed)
    r = await _erase(client, seed, customer=other)
    assert r.status_code == 409 and r.json()["code"] == "REQUEST_REFERENCE_IN_USE"
    assert (await Customer.select(Customer.erased_at).where(Customer.id == other).first().run())["erased_at"] is None


async def test_an_erased_customer_is_gone_for_staff_everywhere(client) -> None:
    seed = await _seed(client)
    cid, h = seed["customer"], seed["headers"]
    await _erase(client, seed)
    for role in ("associate", "manager", "hq", "compliance", "outsider"):
        r = await client.get(f"/api/v1/customers/{cid}", headers=h[role])
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", role
    for q in (None, FIRST, "Erased", EMAIL, CARD):
        params = {"q": q} if q else {}
        items = (await client.get("/api/v1/customers", params=params, headers=h["hq"])).json()["items"]
        assert str(cid) not in {c["id"] for c in items}, q
    assert (await client.get(f"/api/v1/customers/{cid}/notes", headers=h["associate"])).status_code == 404
    assert (await client.patch(f"/api/v1/customers/{cid}", json={"firstName": "Back"}, headers=h["manager"])).status_code == 404
    result = await gql(client, "query($id: ID!) { customer(id: $id) { firstName } }", {"id": str(cid)}, h["hq"])
    assert codes(result) == ["NOT_FOUND"]
    search = await gql(client, "query { customers(search: \"Erased\") { edges { node { id } } } }", {}, h["hq"])
    assert search["data"]["customers"]["edges"] == []
    r = await client.post(f"/api/v1/customers/{cid}/restriction", json={"restricted": True, "requestReference": "R"}, headers=h["compliance"])
    assert r.status_code == 409 and r.json()["code"] == "CUSTOMER_ERASED"


async def test_the_audit_chain_verifies_after_erasure(client) -> None:
    seed = await _seed(client)
    await client.get(f"/api/v1/customers/{seed['customer']}/export", headers=seed["headers"]["compliance"])
    await _erase(client, seed)
    r = await client.get("/api/v1/audit/verify", headers=seed["headers"]["compliance"])
    assert r.json()["ok"] is True and r.json()["entries"] == len(await _audit())
    trail = (await client.get("/api/v1/audit", params={"customer": str(seed["customer"])}, headers=seed["headers"]["compliance"])).json()["items"]
    assert [e["action"] for e in trail][:2] == ["erase", "export"]


# --- Restriction ----------------------------------------------------------------------


async def test_restriction_makes_the_customer_read_only_until_lifted(client) -> None:
    seed = await _seed(client)
    cid, h = seed["customer"], seed["headers"]
    url = f"/api/v1/customers/{cid}/restriction"
    r = await client.post(url, json={"restricted": True, "requestReference": "DSR-18-1"}, headers=h["compliance"])
    assert r.status_code == 200 and r.json()["restricted"] is True and r.json()["changed"] is True and r.json()["restrictedAt"]
    assert (await client.get(f"/api/v1/customers/{cid}", headers=h["associate"])).status_code == 200
    for role in ("associate", "manager", "hq"):
        p = await client.patch(f"/api/v1/customers/{cid}", json={"tags": ["blocked"]}, headers=h[role])
        assert p.status_code == 403 and p.json()["code"] == "PROCESSING_RESTRICTED", role
    mutation = "mutation($id: ID!) { updateCustomer(id: $id, input: {tags: [\"x\"]}) { id } }"
    assert codes(await gql(client, mutation, {"id": str(cid)}, h["manager"])) == ["PROCESSING_RESTRICTED"]
    # Asking again changes nothing and is not audited twice.
    again = await client.post(url, json={"restricted": True, "requestReference": "DSR-18-1"}, headers=h["compliance"])
    assert again.json()["changed"] is False and again.json()["restrictedAt"] == r.json()["restrictedAt"]
    (entry,) = await _audit(action="restrict")
    assert entry["reference"] == "DSR-18-1" and entry["fields"] == ["restricted_at"]
    lifted = await client.post(url, json={"restricted": False, "requestReference": "DSR-18-2"}, headers=h["compliance"])
    assert lifted.json()["restricted"] is False and lifted.json()["restrictedAt"] is None
    assert len(await _audit(action="unrestrict")) == 1
    p = await client.patch(f"/api/v1/customers/{cid}", json={"tags": ["welcome back"]}, headers=h["associate"])
    assert p.status_code == 200 and p.json()["tags"] == ["welcome back"]


async def test_restriction_refuses_new_notes(client) -> None:
    seed = await _seed(client)
    cid, h = seed["customer"], seed["headers"]
    await client.post(f"/api/v1/customers/{cid}/restriction", json={"restricted": True, "requestReference": "DSR-18-3"}, headers=h["compliance"])
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Asked about the sale"}, headers=h["associate"])
    assert r.status_code == 403 and r.json()["code"] == "PROCESSING_RESTRICTED"
    assert await Note.count().where(Note.customer == cid).run() == 2
    assert (await client.get(f"/api/v1/customers/{cid}/notes", headers=h["associate"])).status_code == 200


# --- GraphQL --------------------------------------------------------------------------

EXPORT = "query($id: ID!) { customerExport(customerId: $id) }"
ERASE = "mutation($id: ID!, $ref: String!) { eraseCustomer(customerId: $id, requestReference: $ref) { status requestReference erasedAt } }"
RESTRICT = "mutation($id: ID!, $r: Boolean!, $ref: String!) { restrictCustomer(customerId: $id, restricted: $r, requestReference: $ref) { restricted changed } }"


async def test_graphql_exports_erases_and_restricts_for_compliance_only(client) -> None:
    seed = await _seed(client)
    cid, h = str(seed["customer"]), seed["headers"]
    assert codes(await gql(client, EXPORT, {"id": cid}, h["hq"])) == ["FORBIDDEN"]
    assert codes(await gql(client, ERASE, {"id": cid, "ref": "G-1"}, h["associate"])) == ["FORBIDDEN"]
    assert codes(await gql(client, ERASE, {"id": cid, "ref": ""}, h["compliance"])) == ["VALIDATION_FAILED"]
    doc = (await gql(client, EXPORT, {"id": cid}, h["compliance"]))["data"]["customerExport"]
    assert doc["sections"]["profile"]["email"] == EMAIL and doc["sections"]["purchases"][0]["lines"][1]["unitPrice"] == "129.90"
    (entry,) = await _audit(action="export")
    assert entry["surface"] == "graphql"
    restricted = (await gql(client, RESTRICT, {"id": cid, "r": True, "ref": "G-2"}, h["compliance"]))["data"]["restrictCustomer"]
    assert restricted == {"restricted": True, "changed": True}
    erased = (await gql(client, ERASE, {"id": cid, "ref": "G-3"}, h["compliance"]))["data"]["eraseCustomer"]
    assert erased["status"] == "erased" and erased["requestReference"] == "G-3"
    assert (await gql(client, ERASE, {"id": cid, "ref": "G-3"}, h["compliance"]))["data"]["eraseCustomer"] == erased
    assert codes(await gql(client, EXPORT, {"id": str(uuid4())}, h["compliance"])) == ["NOT_FOUND"]
    assert await _leaks() == []


# --- Retention ------------------------------------------------------------------------


async def _backdate(customer: UUID, when: dt.datetime) -> None:
    await Customer.update({Customer.updated_at: when, Customer.created_at: when}).where(Customer.id == customer).run()
    await ConsentRecord.update({ConsentRecord.occurred_at: when}).where(ConsentRecord.customer == customer).run()


async def _retention_population() -> dict[str, UUID]:
    store = await make_store()
    long_ago = _now() - 4 * 365 * DAY
    people = {
        "dormant": await make_customer(store=store, first_name=FIRST, last_name=LAST, email=EMAIL, phone=PHONE, loyalty_number=CARD),
        "restricted": await make_customer(store=store, first_name="Rada", last_name="Restricted", email=None, phone=None),
        "recent_buyer": await make_customer(store=store, first_name="Bea", last_name="Buyer", email=None, phone=None),
        "recent_consent": await make_customer(store=store, first_name="Cai", last_name="Consent", email=None, phone=None),
        "active": await make_customer(store=store, first_name="Ada", last_name="Active", email=None, phone=None),
    }
    await Customer.update({Customer.birth_mmdd: 517}).where(Customer.id == people["dormant"]).run()  # born 1990-05-17
    for name in ("dormant", "restricted", "recent_buyer", "recent_consent"):
        await _backdate(people[name], long_ago)
    await _purchase(customer=people["dormant"], store=store, at=long_ago, lines=[("SKU-9", "Scarf", 1, "39.00")])
    await _purchase(customer=people["recent_buyer"], store=store, at=_now() - 20 * DAY, lines=[("SKU-9", "Scarf", 1, "39.00")])
    await _consent(customer=people["recent_consent"], notice=await _notice(version="2026-02"), at=_now() - 5 * DAY)
    await Customer.update({Customer.restricted_at: long_ago}).where(Customer.id == people["restricted"]).run()
    staff = await make_staff(role="associate", stores=[store])
    await make_note(customer=people["dormant"], author=staff["id"], body=SHARED_NOTE)
    return people


async def _erased_ids() -> set[UUID]:
    return {r["id"] for r in await Customer.select(Customer.id).where(Customer.erased_at.is_not_null()).run()}


async def test_retention_dry_run_counts_and_the_real_run_erases_the_inactive(clean_db) -> None:
    people = await _retention_population()
    service = DataSubjectService(PolicyStore(), AuditTrail(PolicyStore()))
    dry = await service.run_retention(retention_days=1095, dry_run=True)
    assert (dry.inactive, dry.skipped_restricted, dry.erased, dry.dry_run) == (2, 1, 0, True)
    assert await _erased_ids() == set() and await _audit() == []
    real = await service.run_retention(retention_days=1095, dry_run=False)
    assert (real.inactive, real.skipped_restricted, real.erased) == (2, 1, 1)
    assert await _erased_ids() == {people["dormant"]}
    dormant = await Customer.select(Customer.birthdate, Customer.birth_mmdd).where(Customer.id == people["dormant"]).first().run()
    assert (dormant["birthdate"], dormant["birth_mmdd"]) == (None, None)
    (entry,) = await _audit(action="retention_erase")
    reference = f"retention-{_now().date().isoformat()}-{people['dormant']}"
    assert entry["actor_id"] is None and entry["actor_role"] == "system" and entry["reference"] == reference
    assert (await ErasureRequest.select(ErasureRequest.reference, ErasureRequest.requested_by).run()) == [{"reference": reference, "requested_by": None}]
    assert await Purchase.count().where(Purchase.customer == people["dormant"]).run() == 1
    assert await _leaks() == []
    again = await service.run_retention(retention_days=1095, dry_run=False)
    assert (again.inactive, again.skipped_restricted, again.erased) == (1, 1, 0)
    assert len(await _audit()) == 1
    # A purchase counts as activity: with a shorter period the buyer of 20 days ago is due.
    short = await service.run_retention(retention_days=10, dry_run=True)
    assert (short.inactive, short.skipped_restricted) == (2, 1)


async def _cli(clean_db, *args: str, days: str = "1095") -> tuple[int, str]:  # noqa: ANN001
    env = {**os.environ, "CLIENTELING_DATABASE_URL": clean_db.url, "CLIENTELING_SECRET_KEY": "s" * 40, "CLIENTELING_RETENTION_DAYS": days}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api.cli", "retention", "run", *args, env=env, cwd=Path(__file__).parents[2],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode()


async def test_cli_retention_run_reports_counts_and_dry_run_changes_nothing(clean_db) -> None:
    people = await _retention_population()
    code, out = await _cli(clean_db, "--dry-run")
    assert code == 0, out
    assert "retention dry run (1095 days" in out and "2 customers inactive, 1 restricted (kept), 1 would be erased; nothing was changed" in out
    assert await _erased_ids() == set()
    code, out = await _cli(clean_db)
    assert code == 0 and "2 customers inactive, 1 restricted (kept), 1 erased" in out, out
    assert await _erased_ids() == {people["dormant"]}
    assert not [s for s in (FIRST, LAST, EMAIL, "Rada") if s in out]
    code, out = await _cli(clean_db, "--dry-run", days="5")
    assert code == 2 and "CLIENTELING_RETENTION_DAYS must be between 30 and 36500" in out
