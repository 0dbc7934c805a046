"""Offline sync (RxDB GraphQL replication protocol) on both databases: pulls scoped and
permission-filtered, keyset pages, push merge/conflict/refusal rules, idempotent retries,
tombstones on loss of access and erasure, consent pushed from a tablet, devices."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from uuid import UUID, uuid4

import pytest

from clienteling.tables import AuditEntry, Customer, Note
from tests.factories import grant, make_customer, make_note, make_staff, make_store
from tests.integration.conftest import login

UTC = dt.timezone.utc

DOC_FIELDS = {
    "Customer": "id updatedAt deleted firstName lastName email phone birthdate language homeStoreId primaryAssociateId secondaryAssociateId sizes preferences tags vip loyaltyNumber loyaltyTier loyaltyPoints createdAt",
    "Note": "id updatedAt deleted customerId body pinned visibility authorId createdAt",
    "Consent": "id updatedAt deleted customerId noticeId purpose status occurredAt expiresAt legalBasis channel collectedBy storeId deviceId policyVersion noticeSha256 language evidence recordedAt",
}


def _lc(name: str) -> str:
    return name[0].lower() + name[1:]


async def gql(client, headers: dict[str, str], query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:  # noqa: ANN001
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def pull(client, headers, collection: str, checkpoint: dict | None = None, limit: int = 100) -> dict[str, Any]:  # noqa: ANN001
    query = (
        f"query Pull{collection}($checkpoint: {collection}InputCheckpoint, $limit: Int!) {{ pull{collection}(checkpoint: $checkpoint, limit: $limit) "
        f"{{ documents {{ {DOC_FIELDS[collection]} }} checkpoint {{ id updatedAt }} }} }}"
    )
    body = await gql(client, headers, query, {"checkpoint": checkpoint, "limit": limit})
    assert "errors" not in body, body
    return body["data"][f"pull{collection}"]


async def pull_all(client, headers, collection: str, checkpoint: dict | None = None, limit: int = 100) -> tuple[list[dict], dict | None]:  # noqa: ANN001
    docs: list[dict] = []
    while True:
        page = await pull(client, headers, collection, checkpoint, limit)
        docs += page["documents"]
        if page["documents"]:
            checkpoint = page["checkpoint"]
        if len(page["documents"]) < limit:
            return docs, checkpoint


async def push(client, headers, collection: str, rows: list[dict]) -> dict[str, Any]:  # noqa: ANN001
    var = f"{_lc(collection)}PushRow"
    query = f"mutation Push{collection}(${var}: [{collection}InputPushRow!]) {{ push{collection}({var}: ${var}) {{ {DOC_FIELDS[collection]} }} }}"
    return await gql(client, headers, query, {var: rows})


async def _tablet(client, *, email: str, manager_headers: dict, store: UUID, device: str | None = None) -> dict[str, str]:  # noqa: ANN001
    device = device or f"tablet-{uuid4().hex[:8]}"
    response = await client.post("/api/v1/devices", json={"id": device, "storeId": str(store), "label": "Shop floor"}, headers=manager_headers)
    assert response.status_code == 201, response.text
    return await login(client, email, device_id=device)


async def _world(client):  # noqa: ANN001, ANN202
    madrid = await make_store(code="MAD")
    barcelona = await make_store(code="BCN", city="Barcelona")
    bucharest = await make_store(code="BUC", city="Bucharest", country="RO")
    associate = await make_staff(role="associate", stores=[madrid])
    colleague = await make_staff(role="associate", stores=[madrid])
    manager = await make_staff(role="store_manager", stores=[madrid])
    buc_associate = await make_staff(role="associate", stores=[bucharest])
    buc_manager = await make_staff(role="store_manager", stores=[bucharest])
    mine = await make_customer(store=madrid, first_name="Lucía", last_name="Martín", email="lucia@example.com", primary=associate["id"], sizes={"shoe": "38"})
    other = await make_customer(store=madrid, first_name="Jordi", last_name="Puig", email="jordi@example.com", consents=())
    romanian = await make_customer(store=bucharest, first_name="Ioana", last_name="Popescu", email="ioana@example.ro")
    manager_headers = await login(client, manager["email"])
    buc_manager_headers = await login(client, buc_manager["email"])
    return dict(
        madrid=madrid, barcelona=barcelona, bucharest=bucharest, associate=associate, colleague=colleague, manager=manager,
        buc_associate=buc_associate, mine=mine, other=other, romanian=romanian, manager_headers=manager_headers,
        buc_manager_headers=buc_manager_headers,
    )


async def test_first_pull_delivers_only_reachable_customers_filtered_by_the_policy(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    docs, checkpoint = await pull_all(client, tablet, "Customer")
    by_id = {d["id"]: d for d in docs}
    assert set(by_id) == {str(w["mine"]), str(w["other"])}  # never the Bucharest customer
    assert by_id[str(w["mine"])]["email"] == "lucia@example.com"  # own book: full
    assert by_id[str(w["other"])]["email"] != "jordi@example.com" and by_id[str(w["other"])]["email"].endswith("@example.com")  # masked
    assert by_id[str(w["mine"])]["sizes"] == '{"shoe":"38"}'
    assert by_id[str(w["other"])]["sizes"] is None  # no personalization consent: hidden
    assert all(d["deleted"] is False for d in docs)
    keys = [(d["updatedAt"], d["id"]) for d in docs]
    assert keys == sorted(keys)
    assert checkpoint == {"id": docs[-1]["id"], "updatedAt": docs[-1]["updatedAt"]}
    # Caught up: a pull from the checkpoint returns nothing and echoes it.
    again = await pull(client, tablet, "Customer", checkpoint)
    assert again == {"documents": [], "checkpoint": checkpoint}
    # The pull is audited with the customers and fields delivered.
    entry = await AuditEntry.select().where(AuditEntry.action == "sync_pull").first().run()
    assert entry is not None and set(entry["customer_ids"] if isinstance(entry["customer_ids"], list) else __import__("json").loads(entry["customer_ids"])) == {str(w["mine"]), str(w["other"])}


async def test_pages_are_keyset_without_gaps_or_duplicates(client) -> None:
    w = await _world(client)
    for i in range(9):
        await make_customer(store=w["madrid"], first_name=f"Cliente{i}", email=f"c{i}@example.com")
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    docs, _ = await pull_all(client, tablet, "Customer", limit=4)
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)) == 11


async def test_incremental_pull_returns_only_changes_after_the_checkpoint(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    _, checkpoint = await pull_all(client, tablet, "Customer")
    response = await client.patch(f"/api/v1/customers/{w['mine']}", json={"lastName": "Martín Ruiz"}, headers=w["manager_headers"])
    assert response.status_code == 200, response.text
    page = await pull(client, tablet, "Customer", checkpoint)
    assert [d["id"] for d in page["documents"]] == [str(w["mine"])]
    assert page["documents"][0]["lastName"] == "Martín Ruiz"
    assert page["documents"][0]["updatedAt"] > checkpoint["updatedAt"]


async def test_two_tablets_editing_different_fields_are_merged(client) -> None:
    w = await _world(client)
    a = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    b = await _tablet(client, email=w["manager"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    base = {d["id"]: d for d in (await pull_all(client, a, "Customer"))[0]}[str(w["mine"])]
    base_b = {d["id"]: d for d in (await pull_all(client, b, "Customer"))[0]}[str(w["mine"])]
    first = await push(client, a, "Customer", [{"assumedMasterState": base, "newDocumentState": {**base, "firstName": "Lucia"}}])
    assert first == {"data": {"pushCustomer": []}}
    second = await push(client, b, "Customer", [{"assumedMasterState": base_b, "newDocumentState": {**base_b, "phone": "+34 600 000 111"}}])
    assert second == {"data": {"pushCustomer": []}}
    row = await Customer.select(Customer.first_name, Customer.phone).where(Customer.id == w["mine"]).first().run()
    assert row == {"first_name": "Lucia", "phone": "+34 600 000 111"}


async def test_two_tablets_editing_the_same_field_get_the_server_version_as_conflict(client) -> None:
    w = await _world(client)
    a = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    b = await _tablet(client, email=w["manager"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    base_a = {d["id"]: d for d in (await pull_all(client, a, "Customer"))[0]}[str(w["mine"])]
    base_b = {d["id"]: d for d in (await pull_all(client, b, "Customer"))[0]}[str(w["mine"])]
    assert (await push(client, a, "Customer", [{"assumedMasterState": base_a, "newDocumentState": {**base_a, "lastName": "From A"}}]))["data"]["pushCustomer"] == []
    conflict = (await push(client, b, "Customer", [{"assumedMasterState": base_b, "newDocumentState": {**base_b, "lastName": "From B"}}]))["data"]["pushCustomer"]
    assert len(conflict) == 1 and conflict[0]["lastName"] == "From A" and conflict[0]["id"] == str(w["mine"])
    row = await Customer.select(Customer.last_name).where(Customer.id == w["mine"]).first().run()
    assert row["last_name"] == "From A"


async def test_server_managed_fields_never_cause_a_conflict_and_a_delete_goes_through(client) -> None:
    """rxdb #6248: the tablet's assumed state carries an older updatedAt (and loyalty points
    changed on the server meanwhile); its edit and then its delete must still be accepted."""
    w = await _world(client)
    note = await make_note(customer=w["mine"], author=w["associate"]["id"], body="Likes linen")
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    base = (await pull_all(client, tablet, "Note"))[0][0]
    await Note.update({Note.pinned: False}).where(Note.id == note).run()  # bumps updatedAt only
    edited = {**base, "body": "Likes linen and navy"}
    assert (await push(client, tablet, "Note", [{"assumedMasterState": base, "newDocumentState": edited}]))["data"]["pushNote"] == []
    deleted = {**edited, "deleted": True}
    assert (await push(client, tablet, "Note", [{"assumedMasterState": edited, "newDocumentState": deleted}]))["data"]["pushNote"] == []
    row = await Note.select(Note.body, Note.deleted_at).where(Note.id == note).first().run()
    assert row["body"] == "Likes linen and navy" and row["deleted_at"] is not None
    # The delete reaches other tablets as a tombstone with the body blanked.
    other = await _tablet(client, email=w["colleague"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    docs, _ = await pull_all(client, other, "Note")
    assert [(d["id"], d["deleted"], d["body"]) for d in docs] == [(str(note), True, None)]


async def test_a_field_the_caller_may_not_write_is_refused_reported_and_audited(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    base = {d["id"]: d for d in (await pull_all(client, tablet, "Customer"))[0]}[str(w["other"])]
    result = (await push(client, tablet, "Customer", [{"assumedMasterState": base, "newDocumentState": {**base, "vip": True, "firstName": "Jordina"}}]))["data"]["pushCustomer"]
    assert len(result) == 1 and result[0]["vip"] is False and result[0]["firstName"] == "Jordi"
    row = await Customer.select(Customer.vip, Customer.first_name).where(Customer.id == w["other"]).first().run()
    assert row == {"vip": False, "first_name": "Jordi"}  # nothing partially applied
    refused = await AuditEntry.select(AuditEntry.fields, AuditEntry.customer_ids).where(AuditEntry.action == "sync_push_refused").run()
    assert len(refused) == 1 and "customer.vip" in str(refused[0]["fields"]) and str(w["other"]) in str(refused[0]["customer_ids"])
    # A masked email pushed back unchanged is no change at all.
    assert (await push(client, tablet, "Customer", [{"assumedMasterState": base, "newDocumentState": {**base}}]))["data"]["pushCustomer"] == []


async def test_a_retried_push_creates_nothing_twice(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    note_id = str(uuid4())
    new = {"id": note_id, "customerId": str(w["mine"]), "body": "Wants the blue coat in M", "pinned": False, "visibility": "shared", "updatedAt": 0, "deleted": False}
    results = await asyncio.gather(*[push(client, tablet, "Note", [{"newDocumentState": new}]) for _ in range(2)])
    assert all("errors" not in r for r in results), results
    again = await push(client, tablet, "Note", [{"newDocumentState": new}])
    assert again["data"]["pushNote"] == []
    assert await Note.count().where(Note.id == UUID(note_id)).run() == 1
    assert await Note.count().where(Note.customer == w["mine"]).run() == 1


async def test_a_customer_moved_to_another_store_becomes_a_tombstone_on_the_old_stores_tablet(client) -> None:
    w = await _world(client)
    await make_note(customer=w["other"], author=w["associate"]["id"], body="Collects scarves")
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    _, customers_cp = await pull_all(client, tablet, "Customer")
    _, notes_cp = await pull_all(client, tablet, "Note")
    hq = await make_staff(role="hq_admin")
    response = await client.patch(f"/api/v1/customers/{w['other']}", json={"homeStoreId": str(w["barcelona"])}, headers=await login(client, hq["email"]))
    assert response.status_code == 200, response.text
    docs = (await pull(client, tablet, "Customer", customers_cp))["documents"]
    assert [(d["id"], d["deleted"], d["firstName"], d["email"]) for d in docs] == [(str(w["other"]), True, None, None)]
    notes = (await pull(client, tablet, "Note", notes_cp))["documents"]
    assert len(notes) == 1 and notes[0]["deleted"] is True and notes[0]["body"] is None
    # A manager of both stores keeps the customer (no tombstone).
    both = await make_staff(role="store_manager", stores=[w["madrid"], w["barcelona"]])
    both_tablet = await _tablet(client, email=both["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    mine_docs, _ = await pull_all(client, both_tablet, "Customer")
    assert {d["id"]: d["deleted"] for d in mine_docs}[str(w["other"])] is False


async def test_an_erased_customer_arrives_as_a_tombstone_with_blank_fields(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    _, checkpoint = await pull_all(client, tablet, "Customer")
    compliance = await make_staff(role="compliance_officer")
    response = await client.post(f"/api/v1/customers/{w['mine']}/erasure", json={"requestReference": "DSR-1"}, headers=await login(client, compliance["email"]))
    assert response.status_code == 200, response.text
    docs = (await pull(client, tablet, "Customer", checkpoint))["documents"]
    erased = [d for d in docs if d["id"] == str(w["mine"])]
    assert len(erased) == 1 and erased[0]["deleted"] is True
    assert all(erased[0][k] is None for k in ("firstName", "lastName", "email", "phone", "birthdate", "sizes"))


async def test_a_consent_withdrawal_re_masks_the_customer_on_the_next_pull(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    _, checkpoint = await pull_all(client, tablet, "Customer")
    await grant(customer=w["mine"], purpose="personalization", status="withdrawn", at=dt.datetime.now(UTC))
    docs = (await pull(client, tablet, "Customer", checkpoint))["documents"]
    assert [(d["id"], d["deleted"], d["sizes"]) for d in docs] == [(str(w["mine"]), False, None)]


async def test_a_consent_captured_offline_keeps_its_time_and_evidence_and_a_withdrawal_wins(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    captured = dt.datetime.now(UTC) - dt.timedelta(hours=3)
    withdrawal = {
        "id": str(uuid4()), "customerId": str(w["mine"]), "purpose": "personalization", "status": "withdrawn",
        "occurredAt": captured.isoformat(), "channel": "store_tablet", "evidence": "Signed on tablet 3", "updatedAt": 0, "deleted": False,
    }
    assert (await push(client, tablet, "Consent", [{"newDocumentState": withdrawal}]))["data"]["pushConsent"] == []
    docs, _ = await pull_all(client, tablet, "Consent")
    mine = [d for d in docs if d["id"] == withdrawal["id"]]
    assert len(mine) == 1 and mine[0]["evidence"] == "Signed on tablet 3"
    assert dt.datetime.fromisoformat(mine[0]["occurredAt"]) == captured
    customer = {d["id"]: d for d in (await pull_all(client, tablet, "Customer"))[0]}[str(w["mine"])]
    assert customer["sizes"] is None  # the withdrawal took effect
    # A tablet cannot rewrite a ledger entry.
    edited = (await push(client, tablet, "Consent", [{"assumedMasterState": mine[0], "newDocumentState": {**mine[0], "status": "granted"}}]))["data"]["pushConsent"]
    assert len(edited) == 1 and edited[0]["status"] == "withdrawn"


async def test_sync_needs_a_registered_device_and_a_revoked_one_stops_at_once(client) -> None:
    w = await _world(client)
    plain = await login(client, w["associate"]["email"])
    body = await gql(client, plain, "query { pullCustomer(limit: 10) { documents { id } checkpoint { id updatedAt } } }")
    assert body["errors"][0]["extensions"]["code"] == "SYNC_DEVICE_REQUIRED"
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"], device="lost-tablet")
    assert (await pull(client, tablet, "Customer"))["documents"]
    # Another store's manager cannot see or revoke it.
    assert (await client.post("/api/v1/devices/lost-tablet/revoke", headers=w["buc_manager_headers"])).status_code == 404
    listed = (await client.get("/api/v1/devices", headers=w["manager_headers"])).json()
    assert [d["id"] for d in listed["items"]] == ["lost-tablet"]
    assert (await client.get("/api/v1/devices", headers=w["buc_manager_headers"])).json()["items"] == []
    assert (await client.post("/api/v1/devices/lost-tablet/revoke", headers=w["manager_headers"])).status_code == 200
    body = await gql(client, tablet, "query { pullCustomer(limit: 10) { documents { id } checkpoint { id updatedAt } } }")
    assert body["errors"][0]["extensions"]["code"] in ("TOKEN_INVALID", "NOT_AUTHENTICATED")
    response = await client.post("/api/v1/auth/login", json={"email": w["associate"]["email"], "password": "correct horse battery staple", "deviceId": "lost-tablet"})
    assert response.status_code == 403
    # Associates cannot register devices.
    response = await client.post("/api/v1/devices", json={"id": "x", "storeId": str(w["madrid"])}, headers=plain)
    assert response.status_code == 403


async def test_bad_pull_arguments_are_coded_errors(client) -> None:
    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    for variables in ({"limit": 0}, {"limit": 2001}, {"limit": 5, "checkpoint": {"id": "not-a-uuid", "updatedAt": 3}}):
        body = await gql(client, tablet, "query P($checkpoint: CustomerInputCheckpoint, $limit: Int!) { pullCustomer(checkpoint: $checkpoint, limit: $limit) { documents { id } checkpoint { id updatedAt } } }", variables)
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", body


@pytest.mark.postgres
async def test_a_transaction_that_commits_late_is_not_skipped_by_a_pull(client, clean_db) -> None:
    """PostgreSQL: T1 writes first but commits after T2. The change sequence is assigned at
    commit, so a tablet that pulled T2's change still receives T1's afterwards."""
    if clean_db.kind != "postgresql":
        pytest.skip("PostgreSQL commit ordering")
    import asyncpg

    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    _, checkpoint = await pull_all(client, tablet, "Customer")
    c1 = await asyncpg.connect(clean_db.url)
    c2 = await asyncpg.connect(clean_db.url)
    try:
        t1 = c1.transaction()
        await t1.start()
        await c1.execute("UPDATE customer SET last_name = 'Late' WHERE id = $1", w["mine"])
        await c2.execute("UPDATE customer SET last_name = 'Early' WHERE id = $1", w["other"])  # autocommit
        page = await pull(client, tablet, "Customer", checkpoint)
        assert [d["lastName"] for d in page["documents"]] == ["Early"]
        checkpoint = page["checkpoint"]
        await t1.commit()
    finally:
        await c1.close()
        await c2.close()
    page = await pull(client, tablet, "Customer", checkpoint)
    assert [d["lastName"] for d in page["documents"]] == ["Late"]


WORKFLOW_FIELDS = {
    "Task": "id updatedAt deleted customerId storeId kind title details dueAt snoozedUntil completedAt completedById assigneeId createdById createdAt",
    "Appointment": "id updatedAt deleted customerId storeId associateId channel startsAt endsAt status notes createdById createdAt",
    "WishlistItem": "id updatedAt deleted customerId sku productName size colour notes fulfilledAt addedById createdAt",
}


async def _wf_pull(client, headers, collection: str) -> list[dict]:  # noqa: ANN001
    query = (f"query P($checkpoint: {collection}InputCheckpoint, $limit: Int!) {{ pull{collection}(checkpoint: $checkpoint, limit: $limit) "
             f"{{ documents {{ {WORKFLOW_FIELDS[collection]} }} checkpoint {{ id updatedAt }} }} }}")
    body = await gql(client, headers, query, {"limit": 500})
    assert "errors" not in body, body
    return body["data"][f"pull{collection}"]["documents"]


async def _wf_push(client, headers, collection: str, rows: list[dict]) -> list[dict]:  # noqa: ANN001
    var = f"{_lc(collection)}PushRow"
    query = f"mutation P(${var}: [{collection}InputPushRow!]) {{ push{collection}({var}: ${var}) {{ {WORKFLOW_FIELDS[collection]} }} }}"
    body = await gql(client, headers, query, {var: rows})
    assert "errors" not in body, body
    return body["data"][f"push{collection}"]


async def test_tasks_appointments_and_wishlist_items_created_and_changed_offline(client) -> None:
    from clienteling.tables import Appointment, Task, WishlistItem

    w = await _world(client)
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    now = dt.datetime.now(UTC).replace(microsecond=0)
    task = {"id": str(uuid4()), "customerId": str(w["mine"]), "title": "Call about the alterations", "dueAt": (now + dt.timedelta(days=1)).isoformat(), "updatedAt": 0, "deleted": False}
    appointment = {"id": str(uuid4()), "customerId": str(w["mine"]), "channel": "in_store", "startsAt": (now + dt.timedelta(days=2)).isoformat(), "endsAt": (now + dt.timedelta(days=2, hours=1)).isoformat(), "updatedAt": 0, "deleted": False}
    item = {"id": str(uuid4()), "customerId": str(w["mine"]), "sku": "SKU-1", "productName": "Linen shirt", "size": "M", "updatedAt": 0, "deleted": False}
    assert await _wf_push(client, tablet, "Task", [{"newDocumentState": task}]) == []
    assert await _wf_push(client, tablet, "Appointment", [{"newDocumentState": appointment}]) == []
    assert await _wf_push(client, tablet, "WishlistItem", [{"newDocumentState": item}]) == []

    pulled_task = {d["id"]: d for d in await _wf_pull(client, tablet, "Task")}[task["id"]]
    assert pulled_task["assigneeId"] == str(w["associate"]["id"]) and pulled_task["completedAt"] is None
    done = {**pulled_task, "completedAt": now.isoformat()}
    assert await _wf_push(client, tablet, "Task", [{"assumedMasterState": pulled_task, "newDocumentState": done}]) == []
    row = await Task.select(Task.completed_at, Task.completed_by).where(Task.id == UUID(task["id"])).first().run()
    assert row["completed_at"] is not None and row["completed_by"] == w["associate"]["id"]

    pulled_appt = {d["id"]: d for d in await _wf_pull(client, tablet, "Appointment")}[appointment["id"]]
    later = {**pulled_appt, "startsAt": (now + dt.timedelta(days=3)).isoformat(), "endsAt": (now + dt.timedelta(days=3, hours=1)).isoformat()}
    assert await _wf_push(client, tablet, "Appointment", [{"assumedMasterState": pulled_appt, "newDocumentState": later}]) == []
    row = await Appointment.select(Appointment.starts_at).where(Appointment.id == UUID(appointment["id"])).first().run()
    assert row["starts_at"] == now + dt.timedelta(days=3)
    # A reschedule into the past is refused by the appointment rules: the server version returns.
    past = {**later, "startsAt": (now - dt.timedelta(days=1)).isoformat(), "endsAt": now.isoformat()}
    pulled_appt = {d["id"]: d for d in await _wf_pull(client, tablet, "Appointment")}[appointment["id"]]
    refused = await _wf_push(client, tablet, "Appointment", [{"assumedMasterState": pulled_appt, "newDocumentState": {**pulled_appt, "startsAt": past["startsAt"], "endsAt": past["endsAt"]}}])
    assert len(refused) == 1 and dt.datetime.fromisoformat(refused[0]["startsAt"]) == now + dt.timedelta(days=3)

    pulled_item = {d["id"]: d for d in await _wf_pull(client, tablet, "WishlistItem")}[item["id"]]
    assert pulled_item["size"] == "M"
    assert await _wf_push(client, tablet, "WishlistItem", [{"assumedMasterState": pulled_item, "newDocumentState": {**pulled_item, "deleted": True}}]) == []
    row = await WishlistItem.select(WishlistItem.deleted_at).where(WishlistItem.id == UUID(item["id"])).first().run()
    assert row["deleted_at"] is not None
    assert {d["id"]: d for d in await _wf_pull(client, tablet, "WishlistItem")}[item["id"]]["deleted"] is True


async def test_many_customers_leaving_at_once_arrive_as_tombstones_across_small_pages(client) -> None:
    w = await _world(client)
    moved = [await make_customer(store=w["madrid"], first_name=f"Mover{i}", email=f"m{i}@example.com") for i in range(7)]
    tablet = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    _, checkpoint = await pull_all(client, tablet, "Customer", limit=3)
    await Customer.update({Customer.home_store: w["barcelona"]}).where(Customer.id.is_in(moved)).run()
    docs, _ = await pull_all(client, tablet, "Customer", checkpoint, limit=3)
    tombstones = [d for d in docs if d["deleted"]]
    assert sorted(d["id"] for d in tombstones) == sorted(str(m) for m in moved)
    assert all(d["firstName"] is None and d["email"] is None for d in tombstones)
    keys = [(d["updatedAt"], d["id"]) for d in docs]
    assert keys == sorted(keys) and len(keys) == len(set(keys))


async def test_a_tablet_of_one_store_does_not_sync_for_a_seller_of_another(client) -> None:
    w = await _world(client)
    device = f"mad-{uuid4().hex[:6]}"
    response = await client.post("/api/v1/devices", json={"id": device, "storeId": str(w["madrid"])}, headers=w["manager_headers"])
    assert response.status_code == 201
    visitor = await login(client, w["buc_associate"]["email"], device_id=device)
    body = await gql(client, visitor, "query { pullCustomer(limit: 10) { documents { id } checkpoint { id updatedAt } } }")
    assert body["errors"][0]["extensions"]["code"] == "SYNC_DEVICE_REQUIRED"


async def test_a_note_made_private_by_its_author_becomes_a_tombstone_for_colleagues(client) -> None:
    w = await _world(client)
    note = await make_note(customer=w["mine"], author=w["associate"]["id"], body="Anniversary on 3 May")
    author = await _tablet(client, email=w["associate"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    colleague = await _tablet(client, email=w["colleague"]["email"], manager_headers=w["manager_headers"], store=w["madrid"])
    docs, checkpoint = await pull_all(client, colleague, "Note")
    assert [(d["id"], d["body"]) for d in docs] == [(str(note), "Anniversary on 3 May")]
    base = (await pull_all(client, author, "Note"))[0][0]
    assert (await push(client, author, "Note", [{"assumedMasterState": base, "newDocumentState": {**base, "visibility": "private"}}]))["data"]["pushNote"] == []
    after, _ = await pull_all(client, colleague, "Note", checkpoint)
    assert [(d["id"], d["deleted"], d["body"]) for d in after] == [(str(note), True, None)]
    mine, _ = await pull_all(client, author, "Note")
    assert [(d["deleted"], d["visibility"], d["body"]) for d in mine] == [(False, "private", "Anniversary on 3 May")]
    # The colleague cannot edit what they can no longer see: the tombstone comes back.
    stale = {**docs[0], "body": "edited by a colleague"}
    conflict = (await push(client, colleague, "Note", [{"assumedMasterState": docs[0], "newDocumentState": stale}]))["data"]["pushNote"]
    assert len(conflict) == 1 and conflict[0]["deleted"] is True
    assert (await Note.select(Note.body).where(Note.id == note).first().run())["body"] == "Anniversary on 3 May"
